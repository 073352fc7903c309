/* team.h -- a few worker threads for coarse parallel loops, and how many CPUs
 * this process may really use.
 *
 * Promise: fmd_team_run(team, ntasks, fn, ctx) calls fn(ctx, task, thread)
 * once for every task 0..ntasks-1 and returns when all have returned. The
 * caller is thread 0 and works too; threads claim the next task from a
 * shared counter, so a thread the kernel has descheduled holds back only the
 * task it is on while the others take the rest. Idle threads sleep on a
 * condition variable: nothing here spins, so on a busy machine a waiting
 * thread gives its time slice away instead of burning it (BLIS's own
 * barriers spin, which is why fmd never lets BLIS start threads; see
 * src/base/matmul.h).
 *
 * Bits: a task must write only what belongs to its index (a block of
 * particles, a slice of a batch, a block of parameters), never accumulate
 * into something another task shares. Then which thread ran which task,
 * and how many threads there were, cannot change a single bit of the
 * result. `thread` (0..threads-1) is for scratch memory only.
 *
 * A team is owned by one caller at a time (a workspace holds it); fmd_team_run
 * from inside a task runs the inner loop on the calling thread. */
#ifndef FMD_TEAM_H
#define FMD_TEAM_H

#include <stddef.h>

typedef struct fmd_team fmd_team;

/* fn returns FMD_OK or an error; fmd_team_run returns the error of the
 * lowest-numbered failing task (so the report, too, is thread-independent). */
typedef int (*fmd_task_fn)(void *ctx, size_t task, int thread);

/* A team of `threads` threads in all (the caller plus threads - 1 workers);
 * threads <= 1 gives a team that runs every task on the caller. */
int fmd_team_alloc(int threads, fmd_team **out);
void fmd_team_free(fmd_team *team);
int fmd_team_threads(const fmd_team *team);   /* 1 for a NULL team */

/* Make *team a team of `threads` threads: keep it if it has that many,
 * otherwise replace it (threads <= 1 frees it: NULL runs on the caller).
 * For workspaces whose thread count the caller sets as a plain field. */
int fmd_team_ensure(fmd_team **team, int threads);

/* The guard (on by default; src/base/team.c): a team timing its short jobs on
 * itself and on the caller alone, keeping the faster way. Off, every job
 * runs on the team -- for measuring what the team itself does. */
void fmd_team_guard(fmd_team *team, int on);

/* Run tasks 0..ntasks-1; team may be NULL (one thread). */
int fmd_team_run(fmd_team *team, size_t ntasks, fmd_task_fn fn, void *ctx);

/* Cut n items (particles, rows) into fmd_chunks(n, most) chunks of at most
 * `most` items, all of (nearly) one size -- 100 particles in chunks of at
 * most 64 are two of 50, which two threads share evenly. The cut depends on
 * n alone, never on the threads. Chunk b is [*i0, *i0 + *count). */
size_t fmd_chunks(size_t n, size_t most);
void fmd_chunk(size_t n, size_t most, size_t b, size_t *i0, size_t *count);

/* ---- how many CPUs ------------------------------------------------------- */

/* The CPUs this process may use: the CPUs in its affinity mask (taskset,
 * cpusets), lowered to the CPU quota of its control group and every parent
 * (cgroup v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us), rounded up,
 * at least 1 and at most FMD_MAX_THREADS. The default thread count of every
 * fmd command. */
#define FMD_MAX_THREADS 64
int fmd_cpus_available(void);

/* The pieces, for tests: CPUs granted by one cgroup file's text -- v2
 * "max 100000" / "150000 100000", or v1 quota and period as two numbers
 * "150000 100000" ("-1 100000" = no limit). Returns the (fractional) number
 * of CPUs, or 0 if the text says "no limit" or cannot be read. */
double fmd_cpu_quota_from_text(const char *text);

#endif
