// Creates a llama.cpp context for a GGUF and exits: llama.cpp logs the KV cache it allocates
// ("llama_kv_cache: size = ... MiB (... cells, ... layers, .../... seqs)", one line per cache:
// two for a model with interleaved sliding windows, the full layers' first).
//
// usage: llama_kv_probe MODEL.gguf CTX_PER_SEQUENCE SEQUENCES TYPE_K TYPE_V
// TYPE_*: a ggml type name (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl).
// Each sequence gets the full context: n_ctx = CTX x SEQUENCES in one unified cache
// (llama-server's `-kvu`, its default when the number of slots is automatic), with n_seq_max =
// SEQUENCES, n_ubatch 512 and sliding-window caches sized by the window (`--swa-full` off, the
// command-line tools' default; the C API's default is a full-size cache).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"
#include "llama.h"

static enum ggml_type type_named(const char * name) {
    for (int t = 0; t < GGML_TYPE_COUNT; ++t) {
        const char * type_name = ggml_type_name((enum ggml_type) t);
        if (type_name && strcmp(type_name, name) == 0) return (enum ggml_type) t;
    }
    fprintf(stderr, "unknown type %s\n", name);
    exit(2);
}

int main(int argc, char ** argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s MODEL CTX SEQUENCES TYPE_K TYPE_V\n", argv[0]);
        return 2;
    }
    const int ctx = atoi(argv[2]), sequences = atoi(argv[3]);
    llama_backend_init();
    struct llama_model_params model_params = llama_model_default_params();
    model_params.n_gpu_layers = 0;
    struct llama_model * model = llama_model_load_from_file(argv[1], model_params);
    if (!model) return 1;
    struct llama_context_params params = llama_context_default_params();
    params.n_ctx = (uint32_t) (ctx * sequences);
    params.n_seq_max = (uint32_t) sequences;
    params.kv_unified = true;
    params.swa_full = false;
    params.n_ubatch = 512;
    params.type_k = type_named(argv[4]);
    params.type_v = type_named(argv[5]);
    params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED;
    params.n_threads = 1;
    params.n_threads_batch = 1;
    struct llama_context * context = llama_init_from_model(model, params);
    if (!context) return 1;
    llama_free(context);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
