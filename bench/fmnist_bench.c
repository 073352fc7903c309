/* fmnist_bench.c -- chapter 5 on Fashion-MNIST: training steps per second of
 * the class-conditional denoiser (784 + 8 + 11 -> 512 x 3 -> 784, SiLU,
 * batch 128, target the clean image, label dropout 0.1, Adam) and images per
 * second sampled with classifier-free guidance (w = 2.5, the field from the
 * denoiser by Prop 1, midpoint rule, 25 steps on [0, 0.999], two network
 * evaluations per field evaluation, 100 images a batch), in float64 and
 * float32, on 1 and 2 threads, against the same network in PyTorch on the
 * CPU (float64 and float32; bench/fmnist_peer.py) in the same run; and each
 * result's share of its roofline (bench/mlp_roofline.h).
 *
 * Goals (issue 11), written to fmnist_goals.tsv: float32 at least 1.0x
 * PyTorch float32 and float64 at least 1.3x PyTorch float64, in training and
 * sampling, on 1 and 2 threads; 2 threads at least 1.6x 1 thread in training.
 *
 * usage: fmnist_bench RESULTS_DIR   (writes fmnist_throughput.tsv, fmnist_bars.tsv, fmnist_goals.tsv) */
#include <math.h>

#include "mlp_roofline.h"

static void one_step(void *tr)
{
    double loss;
    fmd_train_step(tr, &loss);
}

enum { SAMPLE_BATCHES = 3, SAMPLE_IMAGES = 100, SAMPLE_STEPS = 25 };

static fmd_mlp *network(fmd_dtype dtype)
{
    fmd_mlp_config mc = {.d = 784, .n_fourier = 4, .n_classes = 10, .depth = 3, .width = {512, 512, 512},
                         .act = FMD_SILU, .dtype = dtype};
    fmd_mlp *net;
    if (fmd_mlp_alloc(&mc, &net) != FMD_OK)
        return NULL;
    gsl_rng *r;
    fmd_rng_alloc(0, 0, &r);
    fmd_mlp_init(net, r);
    gsl_rng_free(r);
    return net;
}

/* images per second: guided midpoint sampling of SAMPLE_BATCHES batches */
static double sample_rate(fmd_mlp *net, const fmd_schedule *sch, int threads)
{
    double *x = malloc(SAMPLE_IMAGES * 784 * sizeof(double)), ts[SAMPLE_STEPS + 1];
    fmd_time_grid(0.0, 0.999, SAMPLE_STEPS, ts);
    fmd_ode_workspace *ws;
    fmd_ode_workspace_alloc(fmd_ode_midpoint, SAMPLE_IMAGES, 784, &ws);
    ws->threads = threads;
    fmd_mlp_eval *ev;   /* the network's scratch, kept between evaluations (as fmd sample does) */
    fmd_mlp_eval_alloc(net, &ev);
    double t0 = 0.0, rate = 0.0;
    for (int b = -1; b < BENCH_WINDOWS * SAMPLE_BATCHES; b++) {   /* batch -1 warms up, over two steps */
        if (b >= 0 && b % SAMPLE_BATCHES == 0)
            t0 = now();
        fmd_mlp_guidance G = {net, (b + 10) % 10, 2.5, ev};
        fmd_field D = {fmd_mlp_guided_field, 784, &G};
        fmd_flow_sde_params P = {&D, *sch, 0.0, FMD_PREDICTS_DATA, NULL};
        fmd_field u = {fmd_flow_sde_drift, 784, &P};
        fmd_sample_init((uint64_t)(b + 1), SAMPLE_IMAGES, 784, x);
        fmd_ode_solve_grid(ws, &u, ts, b < 0 ? 3 : SAMPLE_STEPS + 1, x, NULL);
        if (b % SAMPLE_BATCHES == SAMPLE_BATCHES - 1)   /* a window of SAMPLE_BATCHES batches: keep the best */
            rate = fmax(rate, (double)SAMPLE_IMAGES * SAMPLE_BATCHES / (now() - t0));
    }
    fmd_ode_workspace_free(ws);
    fmd_mlp_eval_free(ev);
    free(x);
    return rate;
}

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
    fmd_atomic_file tsv, bars, goals;
    snprintf(path, sizeof path, "%s/fmnist_throughput.tsv", dir);
    if (fmd_atomic_open(path, &tsv) != FMD_OK)
        return 1;
    snprintf(path, sizeof path, "%s/fmnist_bars.tsv", dir);
    if (fmd_atomic_open(path, &bars) != FMD_OK)
        return 1;
    snprintf(path, sizeof path, "%s/fmnist_goals.tsv", dir);
    if (fmd_atomic_open(path, &goals) != FMD_OK)
        return 1;
    fprintf(tsv.fp, "threads\tprecision\twork\tours_per_s\ttorch_same_precision_per_s\tours_over_torch\troofline_per_s\t"
                    "roofline_share\n");
    fprintf(bars.fp, "# case\tours-f64\tours-f32\ttorch-f64\ttorch-f32\troofline-f32\n");
    fprintf(goals.fp, "goal\tcase\trequired\tmeasured\tmet\n");
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    double train_by[2][3] = {{0}};
    int io = 0;
    for (int threads = 1; threads <= 2; threads++) {
        snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=%d %s bench/fmnist_peer.py %s 60 %d %d", threads, py, FMD_FMNIST_DIR,
                 SAMPLE_BATCHES, threads);
        double peer_train[2] = {0, 0}, peer_sample[2] = {0, 0};   /* the best of BENCH_WINDOWS runs */
        for (int w = 0; w < BENCH_WINDOWS; w++) {
            FILE *p = popen(cmd, "r");
            while (p && fgets(line, sizeof line, p)) {
                char impl[32];
                double a, b;
                if (sscanf(line, "%31s %lf %lf", impl, &a, &b) != 3)
                    continue;
                const int k = strcmp(impl, "torch-f32") == 0;
                peer_train[k] = fmax(peer_train[k], a), peer_sample[k] = fmax(peer_sample[k], b);
            }
            if (!p || pclose(p) != 0 || peer_train[0] == 0) {
                fprintf(stderr, "fmnist_bench: the PyTorch peer did not run (%s); install python3-torch\n", py);
                io = 1;
            }
        }
        double ours_train[2], ours_sample[2], roof_train[2], roof_sample[2];
        for (int ty = 0; ty < 2; ty++) {
            const fmd_dtype dtype = ty ? FMD_F32 : FMD_F64;
            const char *pname = ty ? "f32" : "f64";
            fmd_mlp *net = network(dtype);
            fmd_train_config cfg = {.objective = FMD_LOSS_DENOISER, .batch = 128, .lr = 1e-3, .t_max = 1.0, .seed = 1,
                                    .label_drop = 0.1, .threads = threads};
            cfg.schedule = sch;
            fmd_trainer *tr;
            if (!net || fmd_trainer_alloc_sampler(&cfg, fmd_image_set_sampler, &train, net, &tr) != FMD_OK)
                return 1;
            for (int k = 0; k < 5; k++)
                one_step(tr);
            ours_train[ty] = best_rate(one_step, tr, 1.5);
            double tp, te, ta;
            roof_train[ty] = 1.0 / step_roofline_seconds(tr, &tp, &te, &ta);
            fmd_trainer_free(tr);
            ours_sample[ty] = sample_rate(net, &sch, threads);
            double sp, se;   /* 25 midpoint steps: 50 evaluations, 2 forward passes each (guidance) */
            roof_sample[ty] = SAMPLE_IMAGES / sampling_roofline_seconds(net, SAMPLE_IMAGES, 2 * SAMPLE_STEPS, 2, threads, &sp, &se);
            fmd_mlp_free(net);
            const double rt = ours_train[ty] / peer_train[ty], rs = ours_sample[ty] / peer_sample[ty];
            fprintf(tsv.fp, "%d\t%s\ttrain\t%.4g\t%.4g\t%.3f\t%.4g\t%.3f\n", threads, pname, ours_train[ty], peer_train[ty], rt,
                    roof_train[ty], ours_train[ty] / roof_train[ty]);
            fprintf(tsv.fp, "%d\t%s\tsample\t%.4g\t%.4g\t%.3f\t%.4g\t%.3f\n", threads, pname, ours_sample[ty], peer_sample[ty],
                    rs, roof_sample[ty], ours_sample[ty] / roof_sample[ty]);
            printf("%d thread%s, %s: train %.1f steps/s (torch %.1f: %.2fx; roofline %.1f: %.0f%%), sample %.1f images/s "
                   "(torch %.1f: %.2fx; roofline %.1f: %.0f%%)\n",
                   threads, threads > 1 ? "s" : "", pname, ours_train[ty], peer_train[ty], rt, roof_train[ty],
                   100 * ours_train[ty] / roof_train[ty], ours_sample[ty], peer_sample[ty], rs, roof_sample[ty],
                   100 * ours_sample[ty] / roof_sample[ty]);
            const double need = ty ? 1.0 : 1.3;
            char goal[64], what[64];
            snprintf(what, sizeof what, "%d thr, %s", threads, pname);
            snprintf(goal, sizeof goal, "training vs PyTorch %s", pname);
            peer_goal(goals.fp, goal, what, ours_train[ty], peer_train[ty], roof_train[ty], need);
            snprintf(goal, sizeof goal, "sampling vs PyTorch %s", pname);
            peer_goal(goals.fp, goal, what, ours_sample[ty], peer_sample[ty], roof_sample[ty], need);
            train_by[ty][threads] = ours_train[ty];
        }
        fprintf(bars.fp, "\"train, %d thr\"\t%.4g\t%.4g\t%.4g\t%.4g\t%.4g\n", threads, ours_train[0], ours_train[1],
                peer_train[0], peer_train[1], roof_train[1]);
        fprintf(bars.fp, "\"sample, %d thr\"\t%.4g\t%.4g\t%.4g\t%.4g\t%.4g\n", threads, ours_sample[0], ours_sample[1],
                peer_sample[0], peer_sample[1], roof_sample[1]);
    }
    for (int ty = 0; ty < 2; ty++) {
        const double scale = train_by[ty][2] / train_by[ty][1];
        fprintf(goals.fp, "training: 2 threads over 1 (quiet)\t%s\t>= 1.60\t%.3f\t%s\n", ty ? "f32" : "f64", scale,
                scale >= 1.6 ? "yes" : "no");
        printf("%s: 2 threads train %.2fx as fast as 1\n", ty ? "f32" : "f64", scale);
    }
    io |= fmd_atomic_commit(&tsv) != FMD_OK;
    io |= fmd_atomic_commit(&bars) != FMD_OK;
    io |= fmd_atomic_commit(&goals) != FMD_OK;
    fmd_image_set_free(&train);
    return io;
}
