// Runs a GGUF through llama.cpp's C API on given token ids and prints the greedy continuation:
// the prompt in one batch, then one token at a time, each the argmax of the last logits.
//
// usage: llama_greedy_probe MODEL.gguf NEW_TOKENS ID [ID ...]
// Prints the generated ids on one line, separated by spaces. Exits 1 if llama.cpp cannot load
// the model or decode.
#include <stdio.h>
#include <stdlib.h>

#include "llama.h"

static void quiet(enum ggml_log_level level, const char * text, void * data) {
    (void) data;
    if (level >= GGML_LOG_LEVEL_WARN) fputs(text, stderr);
}

static llama_token argmax(const float * logits, int count) {
    int best = 0;
    for (int i = 1; i < count; ++i) {
        if (logits[i] > logits[best]) best = i;
    }
    return (llama_token) best;
}

int main(int argc, char ** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL NEW_TOKENS ID [ID ...]\n", argv[0]);
        return 2;
    }
    const int count = atoi(argv[2]);
    const int prompt_length = argc - 3;
    llama_token * tokens = malloc(sizeof(llama_token) * (size_t) (prompt_length + count));
    if (!tokens) return 1;
    for (int i = 0; i < prompt_length; ++i) tokens[i] = (llama_token) atoi(argv[3 + i]);

    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params model_params = llama_model_default_params();
    model_params.n_gpu_layers = 0;
    struct llama_model * model = llama_model_load_from_file(argv[1], model_params);
    if (!model) return 1;
    const int vocabulary = llama_vocab_n_tokens(llama_model_get_vocab(model));

    struct llama_context_params params = llama_context_default_params();
    params.n_ctx = (uint32_t) (prompt_length + count + 8);
    params.n_batch = (uint32_t) prompt_length;
    params.n_ubatch = (uint32_t) prompt_length;
    params.n_threads = 1;
    params.n_threads_batch = 1;
    struct llama_context * context = llama_init_from_model(model, params);
    if (!context) return 1;

    struct llama_batch batch = llama_batch_get_one(tokens, prompt_length);
    for (int step = 0; step < count; ++step) {
        if (llama_decode(context, batch) != 0) return 1;
        const llama_token next = argmax(llama_get_logits_ith(context, -1), vocabulary);
        tokens[prompt_length + step] = next;
        printf(step == 0 ? "%d" : " %d", next);
        batch = llama_batch_get_one(tokens + prompt_length + step, 1);
    }
    printf("\n");
    llama_free(context);
    llama_model_free(model);
    llama_backend_free();
    free(tokens);
    return 0;
}
