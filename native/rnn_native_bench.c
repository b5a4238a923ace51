/* The same (multi-layer, bidirectional) LSTM as the engine, run from C through oneDNN's RNN
 * primitive or through OpenBLAS sgemm/sgemv, to show what the Java side's FFM downcalls and
 * copies cost. A peer of `rnn bench` (ProcessPeer's line protocol on stdin/stdout):
 *   load DIR THREADS | run K | check | quit
 * DIR holds spec.txt ("lstm D H L dirs T N") and data.bin (x, then per layer and direction
 * PyTorch's weight_ih, weight_hh, bias_ih, bias_hh; float32). Usage: rnn-native-bench onednn|openblas */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
void omp_set_num_threads(int);
#include <cblas.h>
#include "oneapi/dnnl/dnnl.h"

void openblas_set_num_threads(int);

static int D, H, L, DIRS, T, N;
static float *X, **WIH, **WHH, **BIAS; /* per (layer, dir); BIAS = b_ih + b_hh */
static float *Y, *BUF[2], *G, *HS, *CS;
static char DIR[4096];
static int use_dnnl;

#define CHECK(call) do { dnnl_status_t s_ = (call); if (s_ != dnnl_success) { \
    printf("error %s: status %d\n", #call, (int) s_); fflush(stdout); return -1; } } while (0)

/* ---- oneDNN: one primitive per layer, weights reordered once ---- */
static dnnl_engine_t eng;
static dnnl_stream_t strm;
static dnnl_primitive_t prim[16];
static dnnl_exec_arg_t args[16][8];

static int dnnl_setup(void) {
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    for (int l = 0; l < L; l++) {
        int in = l == 0 ? D : DIRS * H;
        int dir = DIRS == 2 ? dnnl_bidirectional_concat : dnnl_unidirectional_left2right;
        dnnl_dims_t src = {T, N, in}, dst = {T, N, DIRS * H};
        dnnl_dims_t wl = {1, DIRS, in, 4, H}, wi = {1, DIRS, H, 4, H}, b = {1, DIRS, 4, H};
        dnnl_memory_desc_t src_md, dst_md, wl_user, wi_user, b_md, wl_any, wi_any;
        CHECK(dnnl_memory_desc_create_with_tag(&src_md, 3, src, dnnl_f32, dnnl_tnc));
        CHECK(dnnl_memory_desc_create_with_tag(&dst_md, 3, dst, dnnl_f32, dnnl_tnc));
        CHECK(dnnl_memory_desc_create_with_tag(&wl_user, 5, wl, dnnl_f32, dnnl_ldgoi));
        CHECK(dnnl_memory_desc_create_with_tag(&wi_user, 5, wi, dnnl_f32, dnnl_ldgoi));
        CHECK(dnnl_memory_desc_create_with_tag(&b_md, 4, b, dnnl_f32, dnnl_ldgo));
        CHECK(dnnl_memory_desc_create_with_tag(&wl_any, 5, wl, dnnl_f32, dnnl_format_tag_any));
        CHECK(dnnl_memory_desc_create_with_tag(&wi_any, 5, wi, dnnl_f32, dnnl_format_tag_any));
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_lstm_forward_primitive_desc_create(&pd, eng, dnnl_forward_inference, dir, src_md, NULL, NULL,
            wl_any, wi_any, NULL, NULL, b_md, dst_md, NULL, NULL, 0, NULL));
        /* user weights: both directions of this layer side by side */
        size_t nwl = (size_t) DIRS * 4 * H * in, nwi = (size_t) DIRS * 4 * H * H;
        float *uwl = malloc(4 * nwl), *uwi = malloc(4 * nwi), *ub = malloc(4 * (size_t) DIRS * 4 * H);
        for (int d = 0; d < DIRS; d++) {
            memcpy(uwl + (size_t) d * 4 * H * in, WIH[l * DIRS + d], 4 * (size_t) 4 * H * in);
            memcpy(uwi + (size_t) d * 4 * H * H, WHH[l * DIRS + d], 4 * (size_t) 4 * H * H);
            memcpy(ub + (size_t) d * 4 * H, BIAS[l * DIRS + d], 4 * (size_t) 4 * H);
        }
        dnnl_memory_t m_wl, m_wi, m_b, m_src, m_dst;
        const_dnnl_memory_desc_t want_wl = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER);
        const_dnnl_memory_desc_t want_wi = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_ITER);
        dnnl_memory_t user_wl, user_wi;
        CHECK(dnnl_memory_create(&user_wl, wl_user, eng, uwl));
        CHECK(dnnl_memory_create(&user_wi, wi_user, eng, uwi));
        CHECK(dnnl_memory_create(&m_wl, want_wl, eng, DNNL_MEMORY_ALLOCATE));
        CHECK(dnnl_memory_create(&m_wi, want_wi, eng, DNNL_MEMORY_ALLOCATE));
        dnnl_memory_t pairs[2][2] = {{user_wl, m_wl}, {user_wi, m_wi}};
        const_dnnl_memory_desc_t descs[2][2] = {{wl_user, want_wl}, {wi_user, want_wi}};
        for (int k = 0; k < 2; k++) {
            dnnl_primitive_desc_t rpd;
            dnnl_primitive_t r;
            CHECK(dnnl_reorder_primitive_desc_create(&rpd, descs[k][0], eng, descs[k][1], eng, NULL));
            CHECK(dnnl_primitive_create(&r, rpd));
            dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, pairs[k][0]}, {DNNL_ARG_TO, pairs[k][1]}};
            CHECK(dnnl_primitive_execute(r, strm, 2, ra));
            CHECK(dnnl_stream_wait(strm));
            dnnl_primitive_destroy(r);
            dnnl_primitive_desc_destroy(rpd);
        }
        CHECK(dnnl_memory_create(&m_b, b_md, eng, ub));
        CHECK(dnnl_memory_create(&m_src, src_md, eng, l == 0 ? X : BUF[(l - 1) % 2]));
        CHECK(dnnl_memory_create(&m_dst, dst_md, eng, l == L - 1 ? Y : BUF[l % 2]));
        CHECK(dnnl_primitive_create(&prim[l], pd));
        dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC_LAYER, m_src}, {DNNL_ARG_WEIGHTS_LAYER, m_wl},
            {DNNL_ARG_WEIGHTS_ITER, m_wi}, {DNNL_ARG_BIAS, m_b}, {DNNL_ARG_DST_LAYER, m_dst}};
        memcpy(args[l], a, sizeof a);
        dnnl_primitive_desc_destroy(pd);
    }
    return 0;
}

static int onednn_run(void) {
    for (int l = 0; l < L; l++) {
        CHECK(dnnl_primitive_execute(prim[l], strm, 5, args[l]));
    }
    CHECK(dnnl_stream_wait(strm));
    return 0;
}

/* ---- OpenBLAS: input projection as one sgemm, then per step sgemv (N = 1) or sgemm ---- */
static float sigm(float v) { return 1.f / (1.f + expf(-v)); }

static int openblas_run(void) {
    for (int l = 0; l < L; l++) {
        int in = l == 0 ? D : DIRS * H;
        const float *src = l == 0 ? X : BUF[(l - 1) % 2];
        float *dst = l == L - 1 ? Y : BUF[l % 2];
        for (int d = 0; d < DIRS; d++) {
            const float *wih = WIH[l * DIRS + d], *whh = WHH[l * DIRS + d], *b = BIAS[l * DIRS + d];
            for (int r = 0; r < T * N; r++) {
                memcpy(G + (size_t) r * 4 * H, b, 4 * (size_t) 4 * H);
            }
            if (T * N == 1) { /* as the Java side: sgemm would repack W_ih for one row */
                cblas_sgemv(CblasRowMajor, CblasNoTrans, 4 * H, in, 1.f, wih, in, src, 1, 1.f, G, 1);
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T * N, 4 * H, in, 1.f, src, in, wih, in, 1.f, G, 4 * H);
            }
            memset(HS, 0, 4 * (size_t) N * H);
            memset(CS, 0, 4 * (size_t) N * H);
            for (int s = 0; s < T; s++) {
                int t = d == 0 ? s : T - 1 - s;
                float *g = G + (size_t) t * N * 4 * H;
                if (N == 1) {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, 4 * H, H, 1.f, whh, H, HS, 1, 1.f, g, 1);
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, 4 * H, H, 1.f, HS, H, whh, H, 1.f, g, 4 * H);
                }
                for (int n = 0; n < N; n++) {
                    float *gn = g + (size_t) n * 4 * H, *h = HS + (size_t) n * H, *c = CS + (size_t) n * H;
                    float *y = dst + ((size_t) t * N + n) * DIRS * H + (size_t) d * H;
                    for (int j = 0; j < H; j++) {
                        float i = sigm(gn[j]), f = sigm(gn[H + j]), gg = tanhf(gn[2 * H + j]), o = sigm(gn[3 * H + j]);
                        c[j] = f * c[j] + i * gg;
                        h[j] = o * tanhf(c[j]);
                        y[j] = h[j];
                    }
                }
            }
        }
    }
    return 0;
}

static float *readf(FILE *f, size_t n) {
    float *p = malloc(4 * n);
    if (fread(p, 4, n, f) != n) {
        return NULL;
    }
    return p;
}

static int load(const char *dir, int threads) {
    char path[4200], cell[32];
    snprintf(DIR, sizeof DIR, "%s", dir);
    snprintf(path, sizeof path, "%s/spec.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%31s %d %d %d %d %d %d", cell, &D, &H, &L, &DIRS, &T, &N) != 7) {
        printf("error cannot read %s\n", path);
        return -1;
    }
    fclose(f);
    if (strcmp(cell, "lstm") != 0 || L > 16) {
        printf("error the C baseline runs LSTMs of up to 16 layers only, got %s with %d layers\n", cell, L);
        return -1;
    }
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    snprintf(path, sizeof path, "%s/data.bin", dir);
    f = fopen(path, "rb");
    if (!f) {
        printf("error cannot open %s\n", path);
        return -1;
    }
    X = readf(f, (size_t) T * N * D);
    WIH = calloc(L * DIRS, sizeof *WIH);
    WHH = calloc(L * DIRS, sizeof *WHH);
    BIAS = calloc(L * DIRS, sizeof *BIAS);
    for (int l = 0; l < L; l++) {
        int in = l == 0 ? D : DIRS * H;
        for (int d = 0; d < DIRS; d++) {
            int k = l * DIRS + d;
            WIH[k] = readf(f, (size_t) 4 * H * in);
            WHH[k] = readf(f, (size_t) 4 * H * H);
            float *bi = readf(f, (size_t) 4 * H), *bh = readf(f, (size_t) 4 * H);
            if (!X || !WIH[k] || !WHH[k] || !bi || !bh) {
                printf("error %s is shorter than its spec\n", path);
                return -1;
            }
            for (int j = 0; j < 4 * H; j++) {
                bi[j] += bh[j];
            }
            BIAS[k] = bi;
            free(bh);
        }
    }
    fclose(f);
    size_t out = (size_t) T * N * DIRS * H;
    Y = calloc(out, 4);
    BUF[0] = calloc(out, 4);
    BUF[1] = calloc(out, 4);
    G = calloc((size_t) T * N * 4 * H, 4);
    HS = calloc((size_t) N * H, 4);
    CS = calloc((size_t) N * H, 4);
    return use_dnnl ? dnnl_setup() : 0;
}

int main(int argc, char **argv) {
    if (argc != 2 || (strcmp(argv[1], "onednn") != 0 && strcmp(argv[1], "openblas") != 0)) {
        fprintf(stderr, "usage: rnn-native-bench onednn|openblas (commands on stdin)\n");
        return 2;
    }
    use_dnnl = strcmp(argv[1], "onednn") == 0;
    char line[8192];
    int loaded = 0;
    while (fgets(line, sizeof line, stdin)) {
        char cmd[16] = "", arg[4096] = "";
        int n = 0;
        if (sscanf(line, "%15s %4095s %d", cmd, arg, &n) < 1) {
            continue;
        }
        if (strcmp(cmd, "load") == 0) {
            loaded = load(arg, n) == 0;
            if (loaded) {
                printf("ok\n");
            }
        } else if (strcmp(cmd, "run") == 0 && loaded) {
            int k = atoi(arg);
            for (int i = 0; i < k; i++) {
                struct timespec a, b;
                clock_gettime(CLOCK_MONOTONIC, &a);
                if ((use_dnnl ? onednn_run() : openblas_run()) != 0) {
                    break;
                }
                clock_gettime(CLOCK_MONOTONIC, &b);
                printf(i ? " %.6f" : "%.6f", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
            }
            printf("\n");
        } else if (strcmp(cmd, "check") == 0 && loaded) {
            if ((use_dnnl ? onednn_run() : openblas_run()) != 0) {
                continue;
            }
            char path[4200];
            snprintf(path, sizeof path, "%s/native-%s_y.bin", DIR, argv[1]);
            FILE *f = fopen(path, "wb");
            fwrite(Y, 4, (size_t) T * N * DIRS * H, f);
            fclose(f);
            printf("ok\n");
        } else if (strcmp(cmd, "quit") == 0) {
            break;
        } else {
            printf("error unknown or premature command %s\n", cmd);
        }
        fflush(stdout);
    }
    return 0;
}
