/* team.c -- worker threads that sleep when idle, tasks claimed one by one. */
#define _GNU_SOURCE
#include "base/team.h"
#include "base/status.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { WINDOW = 16, FIRST_GAP = 8, LONGEST_GAP = 256 };   /* the guard's (see keep_score) */
#define GUARD_SHORT 2e-3   /* loops of jobs shorter than this (seconds) are the guard's business */

struct fmd_team {
    int threads;                 /* in all, the caller included */
    pthread_t *workers;          /* (threads - 1) */
    pthread_mutex_t lock;
    pthread_cond_t go, done;     /* workers wait on go; the caller on done */
    unsigned long generation;    /* one more per job (under lock) */
    atomic_ulong posted;         /* the same, for threads that look before they sleep */
    int quit;
    int busy;                    /* a job is running (a nested run goes inline) */
    /* the current job (written under lock before go) */
    fmd_task_fn fn;
    void *ctx;
    size_t ntasks;
    _Atomic uint64_t claim;      /* (generation mod 2^32) << 32 | the next task to claim */
    atomic_size_t finished;      /* tasks of the current job done */
    size_t failed_task;          /* lowest failing task so far (ntasks: none; under lock) */
    int failed_status;
    /* the guard (see keep_score; the caller's alone) */
    int alone;                   /* 1: jobs run on the caller alone, 0: on the team */
    int probing;                 /* the current window tries the other way */
    int window_jobs;             /* jobs in the current window */
    double window_time;          /* their wall time */
    double last[2];              /* the last window's time, team (0) and alone (1); 0 = not yet */
    int windows_left;            /* windows before the next probe */
    int probe_gap;               /* windows between probes */
    int guard_off;               /* fmd_team_guard(team, 0) */
    double last_job;             /* seconds the previous job took */
    double shortest;             /* the shortest job the team has run (seconds) */
};

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Look before sleeping: poll `done(T, arg)` for at most SPIN_SECONDS, then
 * give up (the caller goes to sleep on a condition variable). Waking a
 * sleeping thread costs tens to hundreds of microseconds when its CPU has
 * gone idle -- a virtual machine's idle CPU must be scheduled again by the
 * host -- and a training step of the lab's network is a millisecond with two
 * waits in it: measured, sleeping at once made two threads slower than one
 * on a quiet machine about one run in three. Fifty microseconds of looking
 * catch the next job of a running loop; on a busy machine they are all a
 * waiting thread takes from the others. */
#define SPIN_SECONDS 50e-6

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int spin_until(int (*done)(fmd_team *, unsigned long), fmd_team *T, unsigned long arg)
{
    const double t0 = seconds_now();
    for (unsigned i = 1;; i++) {
        if (done(T, arg))
            return 1;
        if (i % 64 == 0 && seconds_now() - t0 > SPIN_SECONDS)
            return 0;
        cpu_relax();
    }
}

static int new_job_posted(fmd_team *T, unsigned long seen)
{
    return atomic_load_explicit(&T->posted, memory_order_acquire) != seen;
}

static int all_tasks_finished(fmd_team *T, unsigned long ntasks)
{
    return atomic_load_explicit(&T->finished, memory_order_acquire) >= ntasks;
}

typedef struct {
    fmd_team *team;
    int index;                   /* 1..threads-1 */
} worker_arg;

/* Claim and run tasks of job `gen` until none are left. A claim is a
 * compare-and-swap on (generation, next index): a worker that wakes up late,
 * after its job has ended, finds another generation and takes nothing. The
 * job ends when its last task has finished -- not when every worker has
 * checked out -- so the caller never waits for a worker the kernel has not
 * run yet; it waits only for a task some thread is actually doing. */
static void work(fmd_team *T, uint32_t gen, fmd_task_fn fn, void *ctx, size_t ntasks, int thread)
{
    for (;;) {
        uint64_t c = atomic_load_explicit(&T->claim, memory_order_acquire);
        do {
            if ((uint32_t)(c >> 32) != gen || (c & 0xffffffffu) >= ntasks)
                return;
        } while (!atomic_compare_exchange_weak_explicit(&T->claim, &c, c + 1, memory_order_acq_rel,
                                                        memory_order_acquire));
        const size_t task = (size_t)(c & 0xffffffffu);
        int status = fn(ctx, task, thread);
        if (status != FMD_OK) {
            pthread_mutex_lock(&T->lock);
            if (task < T->failed_task) {
                T->failed_task = task;
                T->failed_status = status;
            }
            pthread_mutex_unlock(&T->lock);
        }
        if (atomic_fetch_add_explicit(&T->finished, 1, memory_order_acq_rel) + 1 == ntasks) {
            pthread_mutex_lock(&T->lock);   /* the last task: wake the caller */
            pthread_cond_signal(&T->done);
            pthread_mutex_unlock(&T->lock);
        }
    }
}

static void *worker_main(void *p)
{
    worker_arg *arg = p;
    fmd_team *T = arg->team;
    const int index = arg->index;
    free(arg);
    unsigned long seen = 0;
    for (;;) {
        spin_until(new_job_posted, T, seen);      /* a moment's look, then */
        pthread_mutex_lock(&T->lock);
        while (T->generation == seen && !T->quit)
            pthread_cond_wait(&T->go, &T->lock);   /* asleep: no CPU used while idle */
        if (T->quit)
            break;
        seen = T->generation;
        fmd_task_fn fn = T->fn;
        void *ctx = T->ctx;
        size_t ntasks = T->ntasks;
        pthread_mutex_unlock(&T->lock);
        work(T, (uint32_t)seen, fn, ctx, ntasks, index);
    }
    pthread_mutex_unlock(&T->lock);
    return NULL;
}

int fmd_team_alloc(int threads, fmd_team **out)
{
    if (!out)
        return FMD_EINVAL;
    *out = NULL;
    fmd_team *T = calloc(1, sizeof *T);
    if (!T)
        return FMD_ENOMEM;
    T->threads = threads < 1 ? 1 : threads > FMD_MAX_THREADS ? FMD_MAX_THREADS : threads;
    T->probe_gap = FIRST_GAP;
    T->shortest = INFINITY;
    pthread_mutex_init(&T->lock, NULL);
    pthread_cond_init(&T->go, NULL);
    pthread_cond_init(&T->done, NULL);
    atomic_init(&T->claim, 0);
    atomic_init(&T->finished, 0);
    atomic_init(&T->posted, 0);
    if (T->threads > 1) {
        T->workers = calloc((size_t)T->threads - 1, sizeof *T->workers);
        if (!T->workers) {
            fmd_team_free(T);
            return FMD_ENOMEM;
        }
        for (int i = 1; i < T->threads; i++) {
            worker_arg *arg = malloc(sizeof *arg);
            if (arg)
                *arg = (worker_arg){T, i};
            if (!arg || pthread_create(&T->workers[i - 1], NULL, worker_main, arg) != 0) {
                free(arg);
                T->threads = i;   /* the ones started so far are joined by free */
                fmd_team_free(T);
                return FMD_ENOMEM;
            }
        }
    }
    *out = T;
    return FMD_OK;
}

void fmd_team_free(fmd_team *T)
{
    if (!T)
        return;
    if (T->workers) {
        pthread_mutex_lock(&T->lock);
        T->quit = 1;
        atomic_fetch_add(&T->posted, 1);   /* a worker still looking stops looking */
        pthread_cond_broadcast(&T->go);
        pthread_mutex_unlock(&T->lock);
        for (int i = 1; i < T->threads; i++)
            pthread_join(T->workers[i - 1], NULL);
        free(T->workers);
    }
    pthread_mutex_destroy(&T->lock);
    pthread_cond_destroy(&T->go);
    pthread_cond_destroy(&T->done);
    free(T);
}

void fmd_team_guard(fmd_team *T, int on)
{
    if (!T)
        return;
    pthread_mutex_lock(&T->lock);
    T->guard_off = !on;
    if (!on)
        T->alone = 0;
    pthread_mutex_unlock(&T->lock);
}

int fmd_team_threads(const fmd_team *T)
{
    return T ? T->threads : 1;
}

int fmd_team_ensure(fmd_team **team, int threads)
{
    if (!team)
        return FMD_EINVAL;
    if (threads > FMD_MAX_THREADS)
        threads = FMD_MAX_THREADS;
    if (fmd_team_threads(*team) == (threads < 1 ? 1 : threads))
        return FMD_OK;
    fmd_team_free(*team);
    *team = NULL;
    return threads > 1 ? fmd_team_alloc(threads, team) : FMD_OK;
}

/* Every task on the calling thread, in order. */
static int run_inline(size_t ntasks, fmd_task_fn fn, void *ctx)
{
    int first = FMD_OK;
    for (size_t task = 0; task < ntasks; task++) {
        int status = fn(ctx, task, 0);
        if (status != FMD_OK && first == FMD_OK)
            first = status;
    }
    return first;
}

/* The guard: threads never make a loop slower than one thread would.
 * Two threads can be slower than one when a job is shorter than the
 * scheduler's time slice -- a training step of the lab's network takes about
 * a millisecond -- and the machine is not ours alone: on a busy machine a
 * worker may sit descheduled for a whole slice holding a task the caller
 * waits for; in a virtual machine both of its CPUs may share one physical
 * core (measured here: two threads at 0.87 s where one took 0.80, in one
 * run of three, on an otherwise quiet machine). So the caller measures both
 * ways and keeps the faster: jobs go in windows of WINDOW; now and then a
 * window runs the other way (on the caller alone, or on the team), and the
 * faster of the last two windows decides how the next ones run. A probe that
 * loses doubles the gap to the next one (FIRST_GAP windows up to
 * LONGEST_GAP), so a loser costs little; one that wins resets it. Only
 * loops of short jobs are watched: if even the team's shortest job took
 * GUARD_SHORT or more -- a couple of time slices -- a descheduled thread
 * costs it little, and the loop always runs on the team. (The shortest, not
 * the latest: on a busy machine every job is slow, and that is when the
 * guard matters.) Which thread runs which task never changes a bit of the result, so
 * neither does this. */
static void keep_score(fmd_team *T, int ran_alone, double seconds)
{
    if (T->guard_off)
        return;
    if (!ran_alone && seconds < T->shortest)
        T->shortest = seconds;
    if (T->shortest >= GUARD_SHORT) {   /* coarse jobs: always the team, no scoring */
        T->alone = T->probing = 0;
        T->window_jobs = 0;
        T->window_time = 0.0;
        return;
    }
    if (ran_alone != T->alone)
        return;   /* not the way this window runs */
    T->window_time += seconds;
    if (++T->window_jobs < WINDOW)
        return;
    const int way = T->alone;
    T->last[way] = T->window_time;
    T->window_jobs = 0;
    T->window_time = 0.0;
    if (T->probing) {   /* keep the faster way; a losing probe waits longer next time */
        T->probing = 0;
        if (T->last[way] < T->last[!way]) {
            T->probe_gap = FIRST_GAP;
        } else {
            T->alone = !way;
            T->probe_gap = T->probe_gap * 2 > LONGEST_GAP ? LONGEST_GAP : T->probe_gap * 2;
        }
        T->windows_left = T->probe_gap;
    } else if (T->last[!way] == 0.0 || --T->windows_left <= 0) {   /* time to try the other way */
        T->alone = !way;
        T->probing = 1;
    }
}

int fmd_team_run(fmd_team *T, size_t ntasks, fmd_task_fn fn, void *ctx)
{
    if (!fn)
        return FMD_EINVAL;
    if (ntasks == 0)
        return FMD_OK;
    if (!T || T->threads == 1 || ntasks == 1 || ntasks > 0xffffffffu)
        return run_inline(ntasks, fn, ctx);
    pthread_mutex_lock(&T->lock);
    if (T->busy) {   /* called from inside a task: no nested teams */
        pthread_mutex_unlock(&T->lock);
        return run_inline(ntasks, fn, ctx);
    }
    if (T->alone) {   /* the guard's choice, timed like the team's */
        T->busy = 1;
        pthread_mutex_unlock(&T->lock);
        const double t0 = seconds_now();
        int status = run_inline(ntasks, fn, ctx);
        const double t1 = seconds_now();
        pthread_mutex_lock(&T->lock);
        T->last_job = t1 - t0;
        keep_score(T, 1, T->last_job);
        T->busy = 0;
        pthread_mutex_unlock(&T->lock);
        return status;
    }
    T->busy = 1;
    T->fn = fn;
    T->ctx = ctx;
    T->ntasks = ntasks;
    T->failed_task = ntasks;
    T->failed_status = FMD_OK;
    T->generation++;
    const uint32_t gen = (uint32_t)T->generation;
    atomic_store(&T->finished, 0);
    atomic_store(&T->claim, (uint64_t)gen << 32);
    atomic_store_explicit(&T->posted, T->generation, memory_order_release);
    pthread_cond_broadcast(&T->go);
    pthread_mutex_unlock(&T->lock);

    const double t0 = seconds_now();
    work(T, gen, fn, ctx, ntasks, 0);   /* the caller takes tasks too */

    spin_until(all_tasks_finished, T, (unsigned long)ntasks);   /* the last task is often nearly done */
    pthread_mutex_lock(&T->lock);
    while (atomic_load(&T->finished) < ntasks)
        pthread_cond_wait(&T->done, &T->lock);   /* asleep until the last task is done */
    T->last_job = seconds_now() - t0;
    keep_score(T, 0, T->last_job);
    int status = T->failed_status;
    T->busy = 0;
    pthread_mutex_unlock(&T->lock);
    return status;
}

size_t fmd_chunks(size_t n, size_t most)
{
    return most ? (n + most - 1) / most : 0;
}

void fmd_chunk(size_t n, size_t most, size_t b, size_t *i0, size_t *count)
{
    const size_t nc = fmd_chunks(n, most);
    *i0 = b * n / nc;
    *count = (b + 1) * n / nc - *i0;
}

/* ---- how many CPUs ------------------------------------------------------- */

double fmd_cpu_quota_from_text(const char *text)
{
    if (!text)
        return 0.0;
    char first[32];
    double period;
    if (sscanf(text, " %31s %lf", first, &period) != 2 || !(period > 0.0))
        return 0.0;
    if (strcmp(first, "max") == 0)
        return 0.0;                     /* v2: no limit */
    char *end;
    double quota = strtod(first, &end);
    if (*end || !(quota > 0.0))
        return 0.0;                     /* v1: -1 is no limit */
    return quota / period;
}

/* Read a small file into buf; 0 on success. */
static int read_text(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0 ? 0 : -1;
}

/* The smallest quota (in CPUs) on the path from cgroup `rel` up to the root
 * under mount point `root`; `v1` reads cpu.cfs_quota_us and
 * cpu.cfs_period_us, otherwise cpu.max. 0 means no limit found. */
static double cgroup_quota(const char *root, const char *rel, int v1)
{
    char dir[1024], path[1200], text[128], period[64];
    double best = 0.0;
    snprintf(dir, sizeof dir, "%s%s", root, strcmp(rel, "/") == 0 ? "" : rel);
    for (;;) {
        double q = 0.0;
        if (v1) {
            snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
            if (read_text(path, text, 64) == 0) {
                snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
                if (read_text(path, period, sizeof period) == 0) {
                    text[strcspn(text, "\n")] = ' ';
                    strncat(text, period, sizeof text - strlen(text) - 1);
                    q = fmd_cpu_quota_from_text(text);
                }
            }
        } else {
            snprintf(path, sizeof path, "%s/cpu.max", dir);
            if (read_text(path, text, sizeof text) == 0)
                q = fmd_cpu_quota_from_text(text);
        }
        if (q > 0.0 && (best == 0.0 || q < best))
            best = q;
        if (strlen(dir) <= strlen(root))
            break;
        char *slash = strrchr(dir, '/');   /* up one level */
        if (!slash || slash < dir + strlen(root))
            break;
        *slash = '\0';
    }
    return best;
}

/* 1 if the comma-separated controller list holds "cpu" itself. */
static int lists_cpu(const char *controllers)
{
    size_t n = strlen(controllers);
    for (const char *p = controllers; p < controllers + n;) {
        size_t len = strcspn(p, ",");
        if (len == 3 && strncmp(p, "cpu", 3) == 0)
            return 1;
        p += len + 1;
    }
    return 0;
}

/* The CPU quota of this process's control group, in CPUs (0: none). */
static double process_quota(void)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return 0.0;
    char line[1024];
    double best = 0.0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *controllers = c1 + 1, *rel = c2 + 1;
        double q = 0.0;
        if (*controllers == '\0') {   /* v2: "0::/path" */
            q = cgroup_quota("/sys/fs/cgroup", rel, 0);
            if (q == 0.0)
                q = cgroup_quota("/sys/fs/cgroup/unified", rel, 0);
        } else if (lists_cpu(controllers)) {   /* v1: "4:cpu,cpuacct:/path" */
            q = cgroup_quota("/sys/fs/cgroup/cpu", rel, 1);
            if (q == 0.0)
                q = cgroup_quota("/sys/fs/cgroup/cpu,cpuacct", rel, 1);
        }
        if (q > 0.0 && (best == 0.0 || q < best))
            best = q;
    }
    fclose(f);
    return best;
}

int fmd_cpus_available(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    double quota = process_quota();
    if (quota > 0.0 && ceil(quota) < (double)n)
        n = (long)ceil(quota);
    return n < 1 ? 1 : n > FMD_MAX_THREADS ? FMD_MAX_THREADS : (int)n;
}
