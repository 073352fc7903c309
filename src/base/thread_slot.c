/* thread_slot.c -- a slot per calling thread (thread_slot.h). */
#include "base/thread_slot.h"

void fmd_thread_slots_init(fmd_thread_slots *t)
{
    pthread_mutex_init(&t->lock, NULL);
    t->used = 0;
}

void fmd_thread_slots_destroy(fmd_thread_slots *t)
{
    pthread_mutex_destroy(&t->lock);
}

long fmd_thread_slot(fmd_thread_slots *t)
{
    const pthread_t self = pthread_self();
    long slot = -1;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->used && slot < 0; i++)
        if (pthread_equal(t->owner[i], self))
            slot = (long)i;
    if (slot < 0 && t->used < FMD_THREAD_SLOTS) {
        t->owner[t->used] = self;
        slot = (long)t->used++;
    }
    pthread_mutex_unlock(&t->lock);
    return slot;
}
