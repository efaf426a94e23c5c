// ctypes entry points over ggml's CPU backend, for lowbit's llama.cpp peer rows (lowbit/bench/llama_peer.py).
// lg_bench_* time ggml_mul_mat(W, x) of a quantized W [n rows x k] by one float column, one thread, on
// the CPU backend, rotating over `copies` weight copies (cold protocol); lg_quantize / lg_matvec /
// lg_dequantize exist for the numerical tests. Everything goes through ggml's public API, so the kernels are exactly llama.cpp's
// (including the float -> Q8_0 / Q8_K conversion of x that every call pays in llama.cpp too).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"

#define LG_EXPORT __attribute__((visibility("default")))

// -1 for a name this harness does not offer (the Python side turns it into a LowbitError).
LG_EXPORT int lg_type(const char *name) {
    if (!strcmp(name, "q4_0")) return GGML_TYPE_Q4_0;
    if (!strcmp(name, "q2_k")) return GGML_TYPE_Q2_K;
    if (!strcmp(name, "tq2_0")) return GGML_TYPE_TQ2_0;
    if (!strcmp(name, "q8_0")) return GGML_TYPE_Q8_0;
    return -1;
}

LG_EXPORT int64_t lg_block_size(int type) { return ggml_blck_size((enum ggml_type)type); }
LG_EXPORT int64_t lg_block_bytes(int type) { return (int64_t)ggml_type_size((enum ggml_type)type); }

LG_EXPORT int64_t lg_quantize(int type, const float *w, int64_t n, int64_t k, void *dst) {
    ggml_cpu_init();
    return (int64_t)ggml_quantize_chunk((enum ggml_type)type, w, dst, 0, n, k, NULL);
}

LG_EXPORT void lg_dequantize(int type, const void *q, int64_t count, float *out) {
    ggml_get_type_traits((enum ggml_type)type)->to_float(q, out, count);
}

typedef struct {
    ggml_backend_t be;
    struct ggml_threadpool *tp;
    struct ggml_context *ctx_w, *ctx_a;
    ggml_backend_buffer_t buf_w, buf_a;
    struct ggml_cgraph **graphs;
    struct ggml_tensor *y0;
    int copies, next;
    size_t weight_bytes;
} lg_bench;

// llama.cpp's default for weights on the CPU: the "extra" buffer type CPU_REPACK, which re-lays Q4_0 /
// Q2_K blocks into 8-row interleaved blocks for its AVX2/AVX-512 GEMV kernels (types without a repack,
// such as TQ2_0, stay plain). NULL when this ggml build has none.
static ggml_backend_buffer_type_t repack_buft(ggml_backend_t be) {
    ggml_backend_dev_t dev = ggml_backend_get_device(be);
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
    ggml_backend_dev_get_extra_bufts_t get =
        (ggml_backend_dev_get_extra_bufts_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts");
    for (ggml_backend_buffer_type_t *b = get ? get(dev) : NULL; b && *b; b++)
        if (!strcmp(ggml_backend_buft_name(*b), "CPU_REPACK")) return *b;
    return NULL;
}

LG_EXPORT void lg_bench_free(lg_bench *b);

// ggml logs every repacked tensor at info level; the bench prints only its table, so keep warnings only.
static void quiet_log(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

// n x k weights of `type`, `copies` copies of the same quantized bytes (q, from lg_quantize) in separate
// memory, one graph per copy, on the CPU backend with a one-thread threadpool made once, as llama.cpp
// runs it. repack != 0: weights in the CPU_REPACK buffer (llama.cpp's default), else a plain CPU buffer.
LG_EXPORT lg_bench *lg_bench_new(int type, const void *q, int64_t n, int64_t k, int copies, const float *x,
                                 int repack) {
    ggml_cpu_init();
    ggml_log_set(quiet_log, NULL);
    lg_bench *b = calloc(1, sizeof(*b));
    b->copies = copies;
    b->weight_bytes = ggml_row_size((enum ggml_type)type, k) * (size_t)n;
    b->be = ggml_backend_cpu_init();
    struct ggml_threadpool_params tpp = ggml_threadpool_params_default(1);
    b->tp = ggml_threadpool_new(&tpp);
    ggml_backend_cpu_set_n_threads(b->be, 1);
    ggml_backend_cpu_set_threadpool(b->be, b->tp);
    ggml_backend_buffer_type_t buft = repack ? repack_buft(b->be) : ggml_backend_cpu_buffer_type();
    if (!buft) { lg_bench_free(b); return NULL; }

    struct ggml_init_params pw = {(size_t)copies * ggml_tensor_overhead() + 1024, NULL, true};
    b->ctx_w = ggml_init(pw);
    struct ggml_tensor **w = calloc((size_t)copies, sizeof(*w));
    for (int c = 0; c < copies; c++) w[c] = ggml_new_tensor_2d(b->ctx_w, (enum ggml_type)type, k, n);
    b->buf_w = ggml_backend_alloc_ctx_tensors_from_buft(b->ctx_w, buft);
    if (!b->buf_w) { free(w); lg_bench_free(b); return NULL; }
    for (int c = 0; c < copies; c++) ggml_backend_tensor_set(w[c], q, 0, b->weight_bytes);  // repacks here

    struct ggml_init_params pa = {(size_t)(copies + 1) * ggml_tensor_overhead()
                                  + (size_t)copies * ggml_graph_overhead() + 1024, NULL, true};
    b->ctx_a = ggml_init(pa);
    struct ggml_tensor *xt = ggml_new_tensor_2d(b->ctx_a, GGML_TYPE_F32, k, 1);
    b->graphs = calloc((size_t)copies, sizeof(*b->graphs));
    for (int c = 0; c < copies; c++) {
        struct ggml_tensor *y = ggml_mul_mat(b->ctx_a, w[c], xt);
        if (c == 0) b->y0 = y;
        b->graphs[c] = ggml_new_graph(b->ctx_a);
        ggml_build_forward_expand(b->graphs[c], y);
    }
    free(w);
    b->buf_a = ggml_backend_alloc_ctx_tensors(b->ctx_a, b->be);
    if (!b->buf_a) { lg_bench_free(b); return NULL; }
    ggml_backend_tensor_set(xt, x, 0, 4 * (size_t)k);
    return b;
}

LG_EXPORT size_t lg_bench_weight_bytes(const lg_bench *b) { return b->weight_bytes; }

// One mat-vec on the next weight copy; returns 0 on success (ggml_status).
LG_EXPORT int lg_bench_run(lg_bench *b) {
    int c = b->next;
    b->next = (c + 1) % b->copies;
    return (int)ggml_backend_graph_compute(b->be, b->graphs[c]);
}

LG_EXPORT void lg_bench_free(lg_bench *b) {
    if (!b) return;
    if (b->buf_a) ggml_backend_buffer_free(b->buf_a);
    if (b->buf_w) ggml_backend_buffer_free(b->buf_w);
    if (b->ctx_a) ggml_free(b->ctx_a);
    if (b->ctx_w) ggml_free(b->ctx_w);
    if (b->be) ggml_backend_free(b->be);
    if (b->tp) ggml_threadpool_free(b->tp);
    free(b->graphs);
    free(b);
}

// y = W x for quantized W (n x k, bytes q): one lg_bench of one copy, run once.
LG_EXPORT int lg_matvec(int type, const void *q, int64_t n, int64_t k, const float *x, float *y, int repack) {
    lg_bench *b = lg_bench_new(type, q, n, k, 1, x, repack);
    if (!b) return -1;
    int rc = lg_bench_run(b);
    ggml_backend_tensor_get(b->y0, y, 0, 4 * (size_t)n);
    lg_bench_free(b);
    return rc;
}
