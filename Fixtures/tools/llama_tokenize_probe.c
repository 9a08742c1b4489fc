// llama.cpp's own tokenizer on a vocabulary GGUF, for the tokenizer fixtures.
//
// usage: llama_tokenize_probe VOCAB.gguf < requests
//
// First it prints the vocabulary as llama.cpp loaded it:
//   V <n_tokens> <type> <bos> <eos> <eot> <sep> <nl> <pad> <mask> <add_bos> <add_eos> <add_sep>
//     <fim_pre> <fim_suf> <fim_mid> <fim_pad> <fim_rep> <fim_sep>
//   G <id> ...            every id llama_vocab_is_eog accepts
//   A <id> <attr>         the attribute bits of every token whose bits are not just NORMAL (4)
// then answers each request line of stdin:
//   T <flags> <hex>       tokenize the bytes <hex>; flags bit 0 add_special, bit 1 parse_special
//                         -> "T <id> <id> ..."
//   D <flags> <id> ...    detokenize; flags bit 0 remove_special, bit 1 unparse_special
//                         -> "D <hex>"
//   P <id>                token_to_piece(id, lstrip 0, special true) -> "P <hex>"
// Ids are -1 for LLAMA_TOKEN_NULL. Text goes as hex so that any byte survives.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void quiet(enum ggml_log_level level, const char * text, void * user_data) {
    (void) level; (void) text; (void) user_data;
}

static int hex_value(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void print_hex(const char * prefix, const char * bytes, int count) {
    printf("%s", prefix);
    for (int i = 0; i < count; ++i) printf("%02x", (unsigned char) bytes[i]);
    printf("\n");
}

int main(int argc, char ** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s VOCAB.gguf < requests\n", argv[0]);
        return 2;
    }
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params params = llama_model_default_params();
    params.vocab_only = true;
    struct llama_model * model = llama_model_load_from_file(argv[1], params);
    if (!model) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    const int n = llama_vocab_n_tokens(vocab);
    printf("V %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d\n", n, (int) llama_vocab_type(vocab),
           llama_vocab_bos(vocab), llama_vocab_eos(vocab), llama_vocab_eot(vocab), llama_vocab_sep(vocab),
           llama_vocab_nl(vocab), llama_vocab_pad(vocab), llama_vocab_mask(vocab),
           (int) llama_vocab_get_add_bos(vocab), (int) llama_vocab_get_add_eos(vocab), (int) llama_vocab_get_add_sep(vocab),
           llama_vocab_fim_pre(vocab), llama_vocab_fim_suf(vocab), llama_vocab_fim_mid(vocab),
           llama_vocab_fim_pad(vocab), llama_vocab_fim_rep(vocab), llama_vocab_fim_sep(vocab));
    printf("G");
    for (int id = 0; id < n; ++id) if (llama_vocab_is_eog(vocab, id)) printf(" %d", id);
    printf("\n");
    for (int id = 0; id < n; ++id) {
        const int attr = (int) llama_vocab_get_attr(vocab, id);
        if (attr != 4) printf("A %d %d\n", id, attr);
    }
    fflush(stdout);

    size_t capacity = 1 << 16;
    char * line = malloc(capacity);
    llama_token * tokens = malloc(sizeof(llama_token) * (1 << 20));
    char * text = malloc(1 << 24);
    for (;;) {
        size_t length = 0;
        int c;
        while ((c = getchar()) != EOF && c != '\n') {
            if (length + 1 >= capacity) { capacity *= 2; line = realloc(line, capacity); }
            line[length++] = (char) c;
        }
        if (c == EOF && length == 0) break;
        line[length] = 0;
        if (line[0] == 'T') {
            char * cursor = line + 2;
            const int flags = (int) strtol(cursor, &cursor, 10);
            while (*cursor == ' ') ++cursor;
            int count = 0;
            for (; cursor[0] && cursor[1]; cursor += 2) {
                text[count++] = (char) (hex_value(cursor[0]) * 16 + hex_value(cursor[1]));
            }
            const int found = llama_tokenize(vocab, text, count, tokens, 1 << 20, flags & 1, (flags & 2) != 0);
            printf("T");
            for (int i = 0; i < found; ++i) printf(" %d", tokens[i]);
            printf("\n");
        } else if (line[0] == 'D') {
            char * cursor = line + 2;
            const int flags = (int) strtol(cursor, &cursor, 10);
            int count = 0;
            while (*cursor) {
                char * end;
                const long id = strtol(cursor, &end, 10);
                if (end == cursor) break;
                tokens[count++] = (llama_token) id;
                cursor = end;
            }
            const int written = llama_detokenize(vocab, tokens, count, text, 1 << 24, flags & 1, (flags & 2) != 0);
            print_hex("D ", text, written < 0 ? 0 : written);
        } else if (line[0] == 'P') {
            const int id = atoi(line + 2);
            const int written = llama_token_to_piece(vocab, id, text, 1 << 24, 0, true);
            print_hex("P ", text, written < 0 ? 0 : written);
        }
        fflush(stdout);
    }
    llama_model_free(model);
    return 0;
}
