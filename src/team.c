/* team.c -- worker threads that sleep when idle, tasks claimed one by one. */
#define _GNU_SOURCE
#include "team.h"
#include "status.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fmd_team {
    int threads;                 /* in all, the caller included */
    pthread_t *workers;          /* (threads - 1) */
    pthread_mutex_t lock;
    pthread_cond_t go, done;     /* workers wait on go; the caller on done */
    unsigned long generation;    /* one more per job: a worker runs each job once */
    int quit;
    int busy;                    /* a job is running (a nested run goes inline) */
    int working;                 /* workers still inside the current job */
    /* the current job */
    fmd_task_fn fn;
    void *ctx;
    size_t ntasks;
    atomic_size_t next;          /* the next task to claim */
    size_t failed_task;          /* lowest failing task so far (ntasks: none) */
    int failed_status;
};

typedef struct {
    fmd_team *team;
    int index;                   /* 1..threads-1 */
} worker_arg;

/* Claim and run tasks until none are left. */
static void work(fmd_team *T, int thread)
{
    for (;;) {
        size_t task = atomic_fetch_add_explicit(&T->next, 1, memory_order_relaxed);
        if (task >= T->ntasks)
            return;
        int status = T->fn(T->ctx, task, thread);
        if (status != FMD_OK) {
            pthread_mutex_lock(&T->lock);
            if (task < T->failed_task) {
                T->failed_task = task;
                T->failed_status = status;
            }
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
    pthread_mutex_lock(&T->lock);
    for (;;) {
        while (T->generation == seen && !T->quit)
            pthread_cond_wait(&T->go, &T->lock);   /* asleep: no CPU used while idle */
        if (T->quit)
            break;
        seen = T->generation;
        pthread_mutex_unlock(&T->lock);
        work(T, index);
        pthread_mutex_lock(&T->lock);
        if (--T->working == 0)
            pthread_cond_signal(&T->done);
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
    pthread_mutex_init(&T->lock, NULL);
    pthread_cond_init(&T->go, NULL);
    pthread_cond_init(&T->done, NULL);
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

int fmd_team_run(fmd_team *T, size_t ntasks, fmd_task_fn fn, void *ctx)
{
    if (!fn)
        return FMD_EINVAL;
    if (ntasks == 0)
        return FMD_OK;
    if (!T || T->threads == 1 || ntasks == 1)
        return run_inline(ntasks, fn, ctx);
    pthread_mutex_lock(&T->lock);
    if (T->busy) {   /* called from inside a task: no nested teams */
        pthread_mutex_unlock(&T->lock);
        return run_inline(ntasks, fn, ctx);
    }
    T->busy = 1;
    T->fn = fn;
    T->ctx = ctx;
    T->ntasks = ntasks;
    atomic_store(&T->next, 0);
    T->failed_task = ntasks;
    T->failed_status = FMD_OK;
    T->working = T->threads - 1;
    T->generation++;
    pthread_cond_broadcast(&T->go);
    pthread_mutex_unlock(&T->lock);

    work(T, 0);   /* the caller takes tasks too */

    pthread_mutex_lock(&T->lock);
    while (T->working > 0)
        pthread_cond_wait(&T->done, &T->lock);   /* asleep until the last worker is out */
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
