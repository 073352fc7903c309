/* thread_slot.h -- a slot per calling thread, for scratch that a field keeps
 * between calls (src/networks/mlp_field.c, src/networks/unet_field.c): the solvers call a field
 * from their own threads, and each thread must get its own scratch, made
 * once and reused.
 *
 * Promise: the first call from a thread claims the next free slot and every
 * later call from it returns the same one. Only the table is locked; a slot
 * belongs to its thread alone. A slot of a thread that has ended may be
 * taken over by a new thread that gets its id (pthread ids are reused),
 * which is safe: the old thread no longer uses it. */
#ifndef FMD_THREAD_SLOT_H
#define FMD_THREAD_SLOT_H

#include <pthread.h>
#include <stddef.h>
#include "base/team.h"

#define FMD_THREAD_SLOTS (FMD_MAX_THREADS + 1)   /* the team's threads and the caller */

typedef struct {
    pthread_mutex_t lock;   /* guards the table, not the slots */
    size_t used;
    pthread_t owner[FMD_THREAD_SLOTS];
} fmd_thread_slots;

void fmd_thread_slots_init(fmd_thread_slots *t);
void fmd_thread_slots_destroy(fmd_thread_slots *t);

/* The calling thread's slot, 0 .. FMD_THREAD_SLOTS - 1; -1 if every slot is taken. */
long fmd_thread_slot(fmd_thread_slots *t);

#endif
