/* fmnist_bench.c -- chapter 5 on Fashion-MNIST: training steps per second of
 * the class-conditional denoiser (784 + 8 + 11 -> 512 x 3 -> 784, SiLU,
 * batch 128, target the clean image, label dropout 0.1, Adam) and images per
 * second sampled with classifier-free guidance (w = 2.5, the field from the
 * denoiser by Prop 1, midpoint rule, 25 steps on [0, 0.999], two network
 * evaluations per field evaluation, 100 images a batch), 1 and 2
 * threads, against the same network in PyTorch on the CPU (float64 and
 * float32; bench/fmnist_peer.py) in the same run.
 *
 * usage: fmnist_bench RESULTS_DIR   (writes fmnist_throughput.tsv, fmnist_bars.tsv) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmd.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum { TRAIN_STEPS = 60, SAMPLE_BATCHES = 3 };

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "bench/results";
    const char *py = getenv("FMD_PYTHON") ? getenv("FMD_PYTHON") : "/usr/bin/python3";
    fmd_image_set train;
    char why[512], path[4096], cmd[8192], line[256];
    if (fmd_fmnist_load(NULL, 1, &train, why, sizeof why) != FMD_OK) {
        fprintf(stderr, "fmnist_bench: %s\n", why);
        return 1;
    }
    fmd_atomic_file tsv, bars;
    snprintf(path, sizeof path, "%s/fmnist_throughput.tsv", dir);
    if (fmd_atomic_open(path, &tsv) != FMD_OK)
        return 1;
    snprintf(path, sizeof path, "%s/fmnist_bars.tsv", dir);
    if (fmd_atomic_open(path, &bars) != FMD_OK)
        return 1;
    fprintf(tsv.fp, "threads\timplementation\ttrain_steps_per_s\timages_per_s\tours_over_this_train\tours_over_this_sample\n");
    fprintf(bars.fp, "# case\tours\ttorch-f64\ttorch-f32\n");
    int io = 0;
    for (int threads = 1; threads <= 2; threads++) {
        fmd_matmul_threads(threads);
        fmd_mlp_config mc = {.d = 784, .n_fourier = 4, .n_classes = 10, .depth = 3, .width = {512, 512, 512},
                             .act = FMD_SILU};
        fmd_mlp *net;
        fmd_mlp_alloc(&mc, &net);
        gsl_rng *r;
        fmd_rng_alloc(0, 0, &r);
        fmd_mlp_init(net, r);
        gsl_rng_free(r);
        fmd_train_config cfg = {.objective = FMD_LOSS_DENOISER, .batch = 128, .lr = 1e-3, .t_max = 1.0, .seed = 1,
                                .label_drop = 0.1};
        fmd_schedule_by_name("condot", &cfg.schedule);
        fmd_trainer *tr;
        fmd_trainer_alloc_sampler(&cfg, fmd_image_set_sampler, &train, net, &tr);
        double loss;
        for (int k = 0; k < 5; k++)
            fmd_train_step(tr, &loss);
        double t0 = now();
        for (int k = 0; k < TRAIN_STEPS; k++)
            fmd_train_step(tr, &loss);
        const double steps = TRAIN_STEPS / (now() - t0);
        fmd_trainer_free(tr);
        double *x = malloc(100 * 784 * sizeof(double)), ts[26];
        fmd_time_grid(0.0, 0.999, 25, ts);
        t0 = now();
        for (int b = 0; b < SAMPLE_BATCHES; b++) {
            fmd_mlp_guidance G = {net, b % 10, 2.5};
            fmd_field D = {fmd_mlp_guided_field, 784, &G};
            fmd_flow_sde_params P = {&D, cfg.schedule, 0.0, FMD_PREDICTS_DATA};
            fmd_field u = {fmd_flow_sde_drift, 784, &P};
            fmd_sample_init((uint64_t)b, 100, 784, x);
            fmd_ode_workspace *ws;
            fmd_ode_workspace_alloc(fmd_ode_midpoint, 100, 784, &ws);
            fmd_ode_solve_grid(ws, &u, ts, 26, x, NULL);
            fmd_ode_workspace_free(ws);
        }
        const double images = 100.0 * SAMPLE_BATCHES / (now() - t0);
        free(x);
        fmd_mlp_free(net);
        fprintf(tsv.fp, "%d\tours (C, BLIS, float64)\t%.4g\t%.4g\t1\t1\n", threads, steps, images);
        printf("%d thread%s: ours %.1f training steps/s, %.1f images/s sampled\n", threads, threads > 1 ? "s" : "", steps,
               images);
        snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=%d %s bench/fmnist_peer.py %s %d %d %d", threads, py, FMD_FMNIST_DIR,
                 TRAIN_STEPS, SAMPLE_BATCHES, threads);
        FILE *p = popen(cmd, "r");
        double peer_s[2] = {0, 0}, peer_i[2] = {0, 0};
        while (p && fgets(line, sizeof line, p)) {
            char impl[32];
            double s, i;
            if (sscanf(line, "%31s %lf %lf", impl, &s, &i) != 3)
                continue;
            int k = strcmp(impl, "torch-f32") == 0;
            peer_s[k] = s, peer_i[k] = i;
            fprintf(tsv.fp, "%d\t%s\t%.4g\t%.4g\t%.2f\t%.2f\n", threads, impl, s, i, steps / s, images / i);
            printf("   %s: %.1f steps/s, %.1f images/s: ours / %s = %.2f (training), %.2f (sampling)\n", impl, s, i, impl,
                   steps / s, images / i);
        }
        if (!p || pclose(p) != 0 || peer_s[0] == 0) {
            fprintf(stderr, "fmnist_bench: the PyTorch peer did not run (%s); install python3-torch\n", py);
            io = 1;
        }
        fprintf(bars.fp, "\"train, %d thr\"\t%.4g\t%.4g\t%.4g\n", threads, steps, peer_s[0], peer_s[1]);
        fprintf(bars.fp, "\"sample, %d thr\"\t%.4g\t%.4g\t%.4g\n", threads, images, peer_i[0], peer_i[1]);
    }
    io |= fmd_atomic_commit(&tsv) != FMD_OK;
    io |= fmd_atomic_commit(&bars) != FMD_OK;
    fmd_image_set_free(&train);
    return io;
}
