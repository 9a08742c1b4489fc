// ECMAScript regular expressions (C++ std::regex, default ECMAScript grammar), for matching
// tensor names exactly as llama-quantize's --tensor-type does (std::regex + std::regex_search).
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wk_regex wk_regex;

/// Compiles `pattern` (UTF-8, NUL-terminated). Returns NULL if it is not a valid ECMAScript
/// pattern, with the reason in `error` (up to `error_size` bytes, NUL-terminated).
wk_regex *wk_regex_compile(const char *pattern, char *error, size_t error_size);
/// 1 if the pattern matches anywhere in `text` (std::regex_search), 0 if not, -1 on a matcher
/// error (std::regex_error during the search, e.g. its complexity limit).
int wk_regex_search(const wk_regex *regex, const char *text);
void wk_regex_free(wk_regex *regex);

#ifdef __cplusplus
}
#endif
