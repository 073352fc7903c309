/* unet_field.c -- the U-Net as a vector field for the samplers, with
 * classifier-free guidance (unet.h). Each thread keeps its own workspace:
 * a U-Net's is hundreds of megabytes, too much to allocate per call. */
#include "networks/unet.h"
#include "base/status.h"
#include "base/thread_slot.h"

#include <stdlib.h>

struct fmd_unet_eval {
    const fmd_unet *net;
    fmd_thread_slots slots;                  /* which thread has which workspace */
    fmd_unet_work *work[FMD_THREAD_SLOTS];
};

int fmd_unet_eval_alloc(const fmd_unet *net, fmd_unet_eval **out)
{
    if (!net || !out)
        return FMD_EINVAL;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return FMD_ENOMEM;
    (*out)->net = net;
    fmd_thread_slots_init(&(*out)->slots);
    return FMD_OK;
}

void fmd_unet_eval_free(fmd_unet_eval *ev)
{
    if (!ev)
        return;
    for (size_t i = 0; i < ev->slots.used; i++)
        fmd_unet_work_free(ev->work[i]);
    fmd_thread_slots_destroy(&ev->slots);
    free(ev);
}

/* The calling thread's workspace (src/base/thread_slot.h; made on its first
 * call); NULL if every slot is taken or memory ran out. */
static fmd_unet_work *work_of_thread(fmd_unet_eval *ev)
{
    const long i = fmd_thread_slot(&ev->slots);
    if (i < 0)
        return NULL;
    if (!ev->work[i] && fmd_unet_work_alloc(ev->net, FMD_UNET_FIELD_ROWS, &ev->work[i]) != FMD_OK)
        return NULL;
    return ev->work[i];
}

int fmd_unet_guided_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_unet_guidance *G = params;
    if (!G || !G->eval || n == 0 || d != G->eval->net->cfg.side * G->eval->net->cfg.side)
        return FMD_EINVAL;
    const fmd_unet *net = G->eval->net;
    const int C = (int)net->cfg.n_classes, labelled = C > 0 && G->y >= 0;
    if (labelled && G->y >= C)
        return FMD_EINVAL;
    /* w = 1 is the conditional output alone, w = 0 the unconditional: one pass, not two */
    const int guided = labelled && G->w != 0.0 && G->w != 1.0, label = labelled && G->w == 1.0 ? G->y : C;
    fmd_unet_work *w = work_of_thread(G->eval);
    if (!w)
        return FMD_ENOMEM;
    double ts[FMD_UNET_FIELD_ROWS];
    int none[FMD_UNET_FIELD_ROWS], ys[FMD_UNET_FIELD_ROWS];
    for (size_t i = 0; i < FMD_UNET_FIELD_ROWS; i++)
        ts[i] = t, none[i] = label, ys[i] = G->y;
    double *fy = guided ? malloc(FMD_UNET_FIELD_ROWS * d * sizeof(double)) : NULL;
    if (guided && !fy)
        return FMD_ENOMEM;
    int status = FMD_OK;
    for (size_t c0 = 0; status == FMD_OK && c0 < n; c0 += FMD_UNET_FIELD_ROWS) {
        const size_t cnt = c0 + FMD_UNET_FIELD_ROWS <= n ? FMD_UNET_FIELD_ROWS : n - c0;
        double *o = out + c0 * d;
        status = fmd_unet_forward(net, w, cnt, x + c0 * d, ts, C ? none : NULL, o);   /* f(x, t, no label), or f(x, t, y) at w = 1 */
        if (status == FMD_OK && guided) {   /* (1 - w) f(x, t, no label) + w f(x, t, y) */
            status = fmd_unet_forward(net, w, cnt, x + c0 * d, ts, ys, fy);
            for (size_t i = 0; status == FMD_OK && i < cnt * d; i++)
                o[i] = (1.0 - G->w) * o[i] + G->w * fy[i];
        }
    }
    free(fy);
    return status;
}
