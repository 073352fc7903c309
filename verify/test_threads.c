/* test_threads.c -- the thread team (src/base/team.h) and the promise every
 * parallel loop in fmd makes: the same bits on one thread and on two.
 *
 * The suite `threads` runs on its own after the others (make check), with
 * one job: its tests start two threads, every other test runs on one, so the
 * suite never runs more threads than the machine has cores. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"

/* ---- the team itself ------------------------------------------------------ */

typedef struct {
    atomic_int runs[1000];   /* how often each task ran */
    int fail_from;           /* tasks >= this fail with FMD_EDOM + (task % 3) */
} count_job;

static int count_task(void *ctx, size_t task, int thread)
{
    count_job *J = ctx;
    cr_assert(thread >= 0 && thread < 2, "thread index %d", thread);
    atomic_fetch_add(&J->runs[task], 1);
    return (int)task >= J->fail_from ? FMD_EDOM + (int)(task % 3) : FMD_OK;
}

/* Every task runs exactly once, on a team of 2, on no team, and again on the
 * same team (its workers sleep between jobs), and over 200 jobs in a row
 * (the guard switches between the team and the caller alone); the status
 * reported is the lowest failing task's, whichever thread met it first. */
Test(threads, team_runs_every_task_once_and_reports_the_first_failure)
{
    fmd_team *team;
    cr_assert_eq(fmd_team_alloc(2, &team), FMD_OK);
    cr_assert_eq(fmd_team_threads(team), 2);
    cr_assert_eq(fmd_team_threads(NULL), 1);
    static count_job J;
    for (int round = 0; round < 3; round++) {
        memset(&J, 0, sizeof J);
        J.fail_from = 1000;
        cr_assert_eq(fmd_team_run(round == 1 ? NULL : team, 1000, count_task, &J), FMD_OK);
        for (int i = 0; i < 1000; i++)
            cr_expect_eq(atomic_load(&J.runs[i]), 1, "round %d: task %d ran %d times", round, i, atomic_load(&J.runs[i]));
    }
    memset(&J, 0, sizeof J);
    J.fail_from = 700;   /* 700 % 3 = 1: FMD_EDOM + 1 */
    cr_expect_eq(fmd_team_run(team, 1000, count_task, &J), FMD_EDOM + 1, "the lowest failing task's status");
    for (int i = 0; i < 1000; i++)
        cr_expect_eq(atomic_load(&J.runs[i]), 1, "after failures: task %d ran %d times", i, atomic_load(&J.runs[i]));
    cr_expect_eq(fmd_team_run(team, 0, count_task, &J), FMD_OK);
    cr_expect_eq(fmd_team_run(team, 5, NULL, &J), FMD_EINVAL);
    /* 200 jobs in a row: the guard (src/base/team.c) measures windows of 16 and
     * runs some on the caller alone, some on the team; every task of every
     * job still runs exactly once */
    for (int job = 0; job < 200; job++) {
        memset(&J, 0, sizeof J);
        J.fail_from = 1000;
        cr_assert_eq(fmd_team_run(team, 50, count_task, &J), FMD_OK);
        for (int i = 0; i < 50; i++)
            cr_assert_eq(atomic_load(&J.runs[i]), 1, "job %d: task %d ran %d times", job, i, atomic_load(&J.runs[i]));
    }
    fmd_team_free(team);
    fmd_team *t = NULL;   /* ensure: make, keep, drop */
    cr_expect_eq(fmd_team_ensure(&t, 2), FMD_OK);
    fmd_team *kept = t;
    cr_expect_eq(fmd_team_ensure(&t, 2), FMD_OK);
    cr_expect(t == kept, "a team of the right size is kept");
    cr_expect_eq(fmd_team_ensure(&t, 1), FMD_OK);
    cr_expect(t == NULL, "one thread needs no team");
}

/* A cgroup's quota in CPUs, from the text of its file: v2 cpu.max
 * ("max 100000" means none) and v1 quota and period ("-1" means none). */
Test(threads, cpu_quota_reads_cgroup_v1_and_v2_text)
{
    const struct { const char *text; double cpus; } cases[] = {
        {"max 100000\n", 0.0}, {"150000 100000\n", 1.5}, {"200000 100000", 2.0}, {"-1 100000", 0.0},
        {"50000 100000", 0.5}, {"", 0.0}, {"garbage", 0.0}, {"100000 0", 0.0}, {"12x 100000", 0.0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = fmd_cpu_quota_from_text(cases[i].text);
        cr_expect(got == cases[i].cpus, "'%s': %g CPUs, expected %g", cases[i].text, got, cases[i].cpus);
    }
    int n = fmd_cpus_available();
    cr_expect(n >= 1 && n <= FMD_MAX_THREADS, "fmd_cpus_available() = %d", n);
}

/* Chunks depend on n alone, cover 0..n-1 once, and differ in size by at most one. */
Test(threads, chunks_cover_the_batch_evenly)
{
    for (size_t n = 1; n <= 300; n++) {
        size_t nc = fmd_chunks(n, 64), next = 0, lo = n, hi = 0;
        cr_assert_eq(nc, (n + 63) / 64);
        for (size_t b = 0; b < nc; b++) {
            size_t i0, cnt;
            fmd_chunk(n, 64, b, &i0, &cnt);
            cr_assert_eq(i0, next, "n %zu chunk %zu starts at %zu, expected %zu", n, b, i0, next);
            next = i0 + cnt;
            lo = cnt < lo ? cnt : lo;
            hi = cnt > hi ? cnt : hi;
        }
        cr_expect(next == n && hi <= 64 && hi - lo <= 1, "n %zu: covered %zu, chunk sizes %zu..%zu", n, next, lo, hi);
    }
}

/* ---- the same bits on one thread and on two ------------------------------- */

static fmd_mlp *lab_net(fmd_dtype dtype)
{
    fmd_mlp_config cfg = {.d = 2, .depth = 4, .width = {64, 64, 64, 64}, .act = FMD_SILU, .dtype = dtype};
    fmd_mlp *net;
    cr_assert_eq(fmd_mlp_alloc(&cfg, &net), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(17, 0, &r);
    fmd_mlp_init(net, r);
    gsl_rng_free(r);
    return net;
}

/* Three training steps of the lab network on 1 and on 2 threads: parameters,
 * Adam's moments, the EMA and the loss agree to the bit -- in float64 with
 * clipping and EMA (three phases a step) and in float32 without (two). A
 * batch of 1000 is 16 slices and the network 9 blocks of weights, so the two
 * threads really share both phases. */
Test(threads, training_gives_the_same_bits_on_one_and_two_threads)
{
    fmd_gmm *g;
    fmd_parse_error perr;
    cr_assert_eq(fmd_gmm_load("chapters/03-constructing-a-training-target/five_modes.gmm", &g, &perr), FMD_OK);
    for (int ty = 0; ty < 2; ty++) {
        fmd_train_config cfg = {.objective = FMD_LOSS_CFM, .batch = 1000, .lr = 1e-3, .t_max = 1.0, .seed = 3,
                                .clip = ty == 0 ? 0.5 : 0.0, .ema_decay = ty == 0 ? 0.99 : 0.0};
        fmd_schedule_by_name("condot", &cfg.schedule);
        fmd_mlp *net[2];
        fmd_trainer *tr[2];
        double loss[2];
        for (int k = 0; k < 2; k++) {
            net[k] = lab_net(ty ? FMD_F32 : FMD_F64);
            cfg.threads = k + 1;
            cr_assert_eq(fmd_trainer_alloc(&cfg, g, net[k], &tr[k]), FMD_OK);
            for (int s = 0; s < 3; s++)
                cr_assert_eq(fmd_train_step(tr[k], &loss[k]), FMD_OK);
        }
        const size_t bytes = net[0]->nparams * fmd_dtype_size(ty ? FMD_F32 : FMD_F64);
        const void *p0 = ty ? (void *)net[0]->params32 : (void *)net[0]->params;
        const void *p1 = ty ? (void *)net[1]->params32 : (void *)net[1]->params;
        cr_expect(memcmp(p0, p1, bytes) == 0, "%s: parameters differ between 1 and 2 threads", ty ? "f32" : "f64");
        cr_expect(memcmp(tr[0]->opt->m, tr[1]->opt->m, bytes) == 0 && memcmp(tr[0]->opt->v, tr[1]->opt->v, bytes) == 0,
                  "%s: Adam's moments differ", ty ? "f32" : "f64");
        cr_expect(!tr[0]->ema || memcmp(tr[0]->ema, tr[1]->ema, bytes) == 0, "EMA differs");
        cr_expect(memcmp(&loss[0], &loss[1], sizeof loss[0]) == 0, "%s: loss %.17g vs %.17g", ty ? "f32" : "f64",
                  loss[0], loss[1]);
        cr_log_info("%s: 3 steps on 1 and 2 threads, loss %.6f both", ty ? "f32" : "f64", loss[0]);
        for (int k = 0; k < 2; k++) {
            fmd_trainer_free(tr[k]);
            fmd_mlp_free(net[k]);
        }
    }
    fmd_gmm_free(g);
}

/* A trained model's noise prediction for chapter 6's samplers, on a team of
 * 2 and on none: the same bits (1000 points are 16 chunks). */
Test(threads, model_field_on_a_team_gives_the_same_bits)
{
    fmd_mlp *net = lab_net(FMD_F64);
    enum { n = 1000 };
    static double x[2 * n], a[2 * n], b[2 * n];
    for (int i = 0; i < 2 * n; i++)
        x[i] = 2.0 * sin(0.77 * i);
    fmd_field u = {fmd_mlp_field, 2, net};
    fmd_team *team;
    cr_assert_eq(fmd_team_alloc(2, &team), FMD_OK);
    cr_assert_eq(fmd_field_eval_team(NULL, &u, 0.37, n, x, a), FMD_OK);
    cr_assert_eq(fmd_field_eval_team(team, &u, 0.37, n, x, b), FMD_OK);
    cr_expect(memcmp(a, b, sizeof a) == 0, "the field differs between 1 and 2 threads");
    fmd_team_free(team);
    fmd_mlp_free(net);
}
