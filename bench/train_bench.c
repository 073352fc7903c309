/* train_bench.c -- training steps per second of the lab configuration
 * (MLP (x, t) -> 64 x 4 -> 2, SiLU, batch 1000, Adam lr 1e-3, CFM, CondOT)
 * and a wider 256 x 4 one, 1 and 2 threads, against the same network in
 * PyTorch on the CPU (float64 and float32; bench/train_peer.py, Debian's
 * python3-torch) in the same run; and the share of BLIS's own dgemm peak
 * that a training step reaches.
 *
 * usage: train_bench RESULTS_DIR   (writes train_throughput.tsv, train_bars.tsv) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmd.h"

#define GMM "chapters/03-constructing-a-training-target/five_modes.gmm"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* dgemm GFlop/s of BLIS itself on 1000 x 1000 x 1000: the peak we compare with */
static double dgemm_peak(void)
{
    const size_t n = 1000;
    double *A = calloc(n * n, sizeof(double)), *B = calloc(n * n, sizeof(double)), *C = malloc(n * n * sizeof(double));
    for (size_t i = 0; i < n * n; i++)
        A[i] = B[i] = 1.0 / (double)(1 + i % 7);
    fmd_matmul(n, n, n, A, B, C);
    double t0 = now();
    for (int k = 0; k < 3; k++)
        fmd_matmul(n, n, n, A, B, C);
    double gf = 3 * 2.0 * n * n * n / (now() - t0) / 1e9;
    free(A), free(B), free(C);
    return gf;
}

/* dense-product flops of one training step: forward H W, backward H^T dZ and
 * dZ W^T (not for the first layer) */
static double step_flops(const fmd_mlp *net, size_t batch)
{
    double f = 0.0;
    for (size_t l = 0; l < net->nlayers; l++) {
        double mm = 2.0 * (double)batch * (double)net->dims[l] * (double)net->dims[l + 1];
        f += mm * (l == 0 ? 2.0 : 3.0);
    }
    return f;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "bench/results";
    const char *py = getenv("FMD_PYTHON") ? getenv("FMD_PYTHON") : "/usr/bin/python3";
    fmd_gmm *g;
    fmd_parse_error perr;
    if (fmd_gmm_load(GMM, &g, &perr) != FMD_OK)
        return 1;
    char path[4096], cmd[8192], line[256];
    fmd_atomic_file tsv, bars;
    snprintf(path, sizeof path, "%s/train_throughput.tsv", dir);
    if (fmd_atomic_open(path, &tsv) != FMD_OK)
        return 1;
    snprintf(path, sizeof path, "%s/train_bars.tsv", dir);
    if (fmd_atomic_open(path, &bars) != FMD_OK)
        return 1;
    fprintf(tsv.fp, "width\tthreads\timplementation\tsteps_per_s\tours_over_this\tgflops\tshare_of_blis_peak\n");
    fprintf(bars.fp, "# case\tours\ttorch-f64\ttorch-f32\n");
    const size_t widths[2] = {64, 256}, batch = 1000;
    int io = 0;
    for (int wi = 0; wi < 2; wi++)
        for (int threads = 1; threads <= 2; threads++) {
            fmd_matmul_threads(threads);
            double peak = dgemm_peak();
            fmd_mlp_config mc = {.d = 2, .depth = 4, .width = {widths[wi], widths[wi], widths[wi], widths[wi]}, .act = FMD_SILU};
            fmd_mlp *net;
            fmd_mlp_alloc(&mc, &net);
            gsl_rng *r;
            fmd_rng_alloc(0, 0, &r);
            fmd_mlp_init(net, r);
            gsl_rng_free(r);
            fmd_train_config cfg = {.objective = FMD_LOSS_CFM, .batch = batch, .lr = 1e-3, .t_max = 1.0, .seed = 1};
            fmd_schedule_by_name("condot", &cfg.schedule);
            fmd_trainer *tr;
            fmd_trainer_alloc(&cfg, g, net, &tr);
            double loss;
            for (int k = 0; k < 10; k++)
                fmd_train_step(tr, &loss);
            const int steps = widths[wi] == 64 ? 300 : 100;
            double t0 = now();
            for (int k = 0; k < steps; k++)
                fmd_train_step(tr, &loss);
            double ours = steps / (now() - t0), gf = ours * step_flops(net, batch) / 1e9;
            fprintf(tsv.fp, "%zu\t%d\tours (C, BLIS)\t%.4g\t1\t%.3g\t%.3f\n", widths[wi], threads, ours, gf, gf / peak);
            printf("width %zu, %d thread%s: ours %.1f steps/s (%.2f GFlop/s in products = %.0f%% of BLIS's dgemm peak %.1f)\n",
                   widths[wi], threads, threads > 1 ? "s" : "", ours, gf, 100 * gf / peak, peak);
            snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=%d %s bench/train_peer.py %s %zu 4 %zu %d %d", threads, py, GMM,
                     widths[wi], batch, steps, threads);
            FILE *p = popen(cmd, "r");
            double peer[2] = {0, 0};
            while (p && fgets(line, sizeof line, p)) {
                char impl[32];
                double rate;
                if (sscanf(line, "%31s %lf", impl, &rate) != 2)
                    continue;
                peer[strcmp(impl, "torch-f32") == 0] = rate;
                fprintf(tsv.fp, "%zu\t%d\t%s\t%.4g\t%.2f\t\t\n", widths[wi], threads, impl, rate, ours / rate);
                printf("   %s %.1f steps/s: ours / %s = %.2f\n", impl, rate, impl, ours / rate);
            }
            if (!p || pclose(p) != 0 || peer[0] == 0) {
                fprintf(stderr, "train_bench: the PyTorch peer did not run (%s); install python3-torch\n", py);
                io = 1;
            }
            fprintf(bars.fp, "\"%zu x 4, %d thr\"\t%.4g\t%.4g\t%.4g\n", widths[wi], threads, ours, peer[0], peer[1]);
            fmd_trainer_free(tr);
            fmd_mlp_free(net);
        }
    io |= fmd_atomic_commit(&tsv) != FMD_OK;
    io |= fmd_atomic_commit(&bars) != FMD_OK;
    fmd_gmm_free(g);
    return io;
}
