/* contention_bench.c -- threads on a busy machine. Three jobs --
 *   train   the lab's training (64 x 4 SiLU, batch 1000, CFM, float64), 300 steps;
 *   sample  a labelled 64 x 4 model sampled with classifier-free guidance
 *           (class 1, w = 3), RK4 50 steps, 2000 samples (the command that
 *           took 13 minutes on a loaded machine before issue 11);
 *   field   the exact marginal field of the five-mode mixture driving RK4,
 *           50 steps, 100000 particles --
 * each on 1 thread and on the default count (the CPUs this process may use),
 * on a quiet machine and beside as many busy competitor processes as there
 * are CPUs. A time is the median of three runs.
 *
 * Goal (issue 11): beside the competitors, the default thread count takes at
 * most 1.25x the time of 1 thread, for every job.
 *
 * usage: contention_bench RESULTS_DIR   (writes contention.tsv, contention_goals.tsv, contention_bars.tsv) */
#include <math.h>

#include "bench.h"

#define GMM "chapters/03-constructing-a-training-target/five_modes.gmm"

typedef struct {
    const fmd_gmm *g;
    int threads;
} job_arg;

static fmd_mlp *lab_net(size_t classes)
{
    fmd_mlp_config mc = {.d = 2, .n_classes = classes, .depth = 4, .width = {64, 64, 64, 64}, .act = FMD_SILU};
    fmd_mlp *net;
    fmd_mlp_alloc(&mc, &net);
    gsl_rng *r;
    fmd_rng_alloc(3, 0, &r);
    fmd_mlp_init(net, r);
    gsl_rng_free(r);
    return net;
}

static int job_train(const job_arg *A)
{
    fmd_mlp *net = lab_net(0);
    fmd_train_config cfg = {.objective = FMD_LOSS_CFM, .batch = 1000, .lr = 1e-3, .t_max = 1.0, .seed = 1,
                            .threads = A->threads};
    fmd_schedule_by_name("condot", &cfg.schedule);
    fmd_trainer *tr;
    int status = fmd_trainer_alloc(&cfg, A->g, net, &tr);
    double loss;
    for (int k = 0; status == FMD_OK && k < 300; k++)
        status = fmd_train_step(tr, &loss);
    fmd_trainer_free(tr);
    fmd_mlp_free(net);
    return status;
}

/* RK4 with `steps` steps on [0, 1] from N(0, I), n particles in R^2 */
static int solve(const fmd_field *u, size_t n, int threads)
{
    double *x = malloc(2 * n * sizeof(double)), ts[51];
    fmd_time_grid(0.0, 1.0, 50, ts);
    fmd_ode_workspace *ws;
    int status = fmd_ode_workspace_alloc(fmd_ode_rk4, n, 2, &ws);
    if (status == FMD_OK) {
        ws->threads = threads;
        fmd_sample_init(7, n, 2, x);
        status = fmd_ode_solve_grid(ws, u, ts, 51, x, NULL);
    }
    fmd_ode_workspace_free(ws);
    free(x);
    return status;
}

static int job_sample(const job_arg *A)
{
    fmd_mlp *net = lab_net(2);
    fmd_mlp_eval *ev;
    fmd_mlp_eval_alloc(net, &ev);
    fmd_mlp_guidance G = {net, 1, 3.0, ev};
    fmd_field u = {fmd_mlp_guided_field, 2, &G};
    int status = solve(&u, 2000, A->threads);
    fmd_mlp_eval_free(ev);
    fmd_mlp_free(net);
    return status;
}

static int job_field(const job_arg *A)
{
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    fmd_marginal_field_params P = {A->g, &sch, NULL, NULL};
    fmd_field u = {fmd_marginal_field, 2, &P};
    return solve(&u, 100000, A->threads);
}

static const struct {
    const char *name;
    int (*run)(const job_arg *);
} jobs[] = {{"train", job_train}, {"sample", job_sample}, {"field", job_field}};
enum { NJOBS = 3, RUNS = 3 };

static double median3(double a, double b, double c)
{
    return fmax(fmin(a, b), fmin(fmax(a, b), c));
}

/* the median of RUNS wall times of job j on `threads` threads */
static double time_job(int j, const fmd_gmm *g, int threads)
{
    job_arg A = {g, threads};
    double t[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = now();
        if (jobs[j].run(&A) != FMD_OK)
            return NAN;
        t[r] = now() - t0;
        if (getenv("FMD_BENCH_VERBOSE"))
            fprintf(stderr, "  %s %d threads run %d: %.3f s\n", jobs[j].name, threads, r, t[r]);
    }
    return median3(t[0], t[1], t[2]);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "bench/results";
    fmd_gmm *g;
    fmd_parse_error perr;
    if (fmd_gmm_load(GMM, &g, &perr) != FMD_OK) {
        fprintf(stderr, "contention_bench: %s:%ld: %s (run from the repository root)\n", perr.file, perr.line, perr.reason);
        return 1;
    }
    const int cpus = fmd_cpus_available();
    char path[4096];
    fmd_atomic_file tsv, goals, bars;
    snprintf(path, sizeof path, "%s/contention.tsv", dir);
    if (fmd_atomic_open(path, &tsv) != FMD_OK)
        return 1;
    snprintf(path, sizeof path, "%s/contention_goals.tsv", dir);
    if (fmd_atomic_open(path, &goals) != FMD_OK)
        return 1;
    snprintf(path, sizeof path, "%s/contention_bars.tsv", dir);
    if (fmd_atomic_open(path, &bars) != FMD_OK)
        return 1;
    fprintf(tsv.fp, "job\tcompetitors\tthreads\tseconds_median_of_3\n");
    fprintf(goals.fp, "goal\tjob\trequired\tmeasured\tmet\n");
    fprintf(bars.fp, "# job\tquiet-1\tquiet-%d\tbusy-1\tbusy-%d\n", cpus, cpus);
    double T[NJOBS][2][2];   /* [job][busy][default threads] */
    for (int busy = 0; busy < 2; busy++) {
        pid_t pids[FMD_MAX_THREADS];
        const int competitors = busy ? cpus : 0;
        start_competitors(competitors, pids);
        for (int j = 0; j < NJOBS; j++)
            for (int def = 0; def < 2; def++) {
                const int threads = def ? cpus : 1;
                T[j][busy][def] = time_job(j, g, threads);
                fprintf(tsv.fp, "%s\t%d\t%d\t%.4g\n", jobs[j].name, competitors, threads, T[j][busy][def]);
                printf("%-6s %d competitor%s, %d thread%s: %.3f s\n", jobs[j].name, competitors, competitors == 1 ? "" : "s",
                       threads, threads > 1 ? "s" : "", T[j][busy][def]);
            }
        stop_competitors(competitors, pids);
    }
    int io = 0;
    for (int j = 0; j < NJOBS; j++) {
        const double ratio = T[j][1][1] / T[j][1][0];
        fprintf(goals.fp, "busy: %d threads over 1 thread, time\t%s\t<= 1.25\t%.3f\t%s\n", cpus, jobs[j].name, ratio,
                ratio <= 1.25 ? "yes" : "no");
        fprintf(bars.fp, "%s\t%.4g\t%.4g\t%.4g\t%.4g\n", jobs[j].name, T[j][0][0], T[j][0][1], T[j][1][0], T[j][1][1]);
        printf("%-6s beside %d competitors: %d threads take %.2fx the time of 1 (quiet: %.2fx)\n", jobs[j].name, cpus, cpus,
               ratio, T[j][0][1] / T[j][0][0]);
    }
    io |= fmd_atomic_commit(&tsv) != FMD_OK;
    io |= fmd_atomic_commit(&goals) != FMD_OK;
    io |= fmd_atomic_commit(&bars) != FMD_OK;
    fmd_gmm_free(g);
    return io;
}
