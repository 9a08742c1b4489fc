// ECMAScript regular expressions through the C++ standard library (see weightkit_regex.h).
#include "weightkit_regex.h"

#include <cstring>
#include <new>
#include <regex>
#include <string>

struct wk_regex {
    std::regex compiled;
};

extern "C" wk_regex *wk_regex_compile(const char *pattern, char *error, size_t error_size) {
    try {
        return new wk_regex{std::regex(pattern)};
    } catch (const std::regex_error &failure) {
        if (error && error_size > 0) {
            std::strncpy(error, failure.what(), error_size - 1);
            error[error_size - 1] = '\0';
        }
    } catch (const std::bad_alloc &) {
        if (error && error_size > 0) {
            std::strncpy(error, "out of memory", error_size - 1);
            error[error_size - 1] = '\0';
        }
    }
    return nullptr;
}

extern "C" int wk_regex_search(const wk_regex *regex, const char *text) {
    try {
        return std::regex_search(std::string(text), regex->compiled) ? 1 : 0;
    } catch (...) {
        return -1;
    }
}

extern "C" void wk_regex_free(wk_regex *regex) { delete regex; }
