/* unet_part.h -- chapter 5, part 4: the U-Net of lecture 002 on
 * Fashion-MNIST beside part 3's MLP denoiser (unet_part.c). It uses the
 * image pieces of images.h, as main.c does; main.c calls it. */
#ifndef CH05_UNET_PART_H
#define CH05_UNET_PART_H

#include "fmd.h"

typedef struct {
    fmd_report *rep;
    const fmd_image_set *train, *test;   /* Fashion-MNIST */
    const fmd_mlp *clf;                  /* part 3's classifier: accuracy, and the distance's features */
    const fmd_mlp *mlp;                  /* part 3's MLP denoiser, compared */
    unsigned long mlp_steps, mlp_batch;  /* its training: steps of mlp_batch images */
    const fmd_schedule *sch;             /* CondOT, both models' path */
    int *io_failed;
    int full;                            /* --full (make tour-full): the long runs too */
    const fmd_mlp *mlp_curve[4];         /* the same MLP run at 1, 2, 5 and 15 times mlp_steps */
    size_t mlp_curve_n;                  /* how many of those: 2 (the tour) or 4 (--full) */
} ch05_unet_args;

/* Train (or reuse) the U-Nets, draw the grid beside the MLP's, and measure
 * both: the Fréchet distance against training time and the accuracy on
 * guided samples; with a->full, also the long runs and 10,000 samples. */
void ch05_unet_part(const ch05_unet_args *a);

#endif
