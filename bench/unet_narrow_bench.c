/* unet_narrow_bench.c -- how close chapter 5's narrow U-Net trains to the
 * machine (issue 27): images per second of its float32 training step (CFM,
 * batch 32, the network chapters/05-conditional-generation/unet_recipe.h
 * describes: 2 x 2 patches, 16 and 32 channels at 14 x 14 and 7 x 7) on 1
 * and 2 threads, and their share of the sgemm roofline of its products
 * (bench/unet_roofline.h), beside the network it had before (8 channels at
 * multipliers 1, 2, 4 on 28 x 28) and the default 32-channel network of
 * bench/unet_bench.c, measured the same way at the same batch.
 *
 * Why: at equal training time the U-Net's quality is bought with steps. The
 * 8-channel network's products (inner dimension 9 x 8 = 72, 8 outputs, at
 * 28 x 28) are the ones BLIS runs slowest; patches move that work to 14 x 14
 * at 16 channels, a quarter of the pixels. Each share says how many more
 * steps a unit of time could hold before a faster kernel runs into the
 * roofline.
 *
 * usage: unet_narrow_bench RESULTS_DIR   (writes unet_narrow.tsv) */
#include "bench.h"
#include "networks/unet_train.h"
#include "unet_roofline.h"
#include "../chapters/05-conditional-generation/unet_recipe.h"

enum { BATCH = 32 };

static void one_step(void *p)
{
    double loss;
    fmd_unet_train_step((fmd_unet_trainer *)p, &loss);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "bench/results";
    char path[4096];
    snprintf(path, sizeof path, "%s/unet_narrow.tsv", dir);
    fmd_atomic_file tsv;
    if (fmd_atomic_open(path, &tsv) != FMD_OK)
        return 1;
    fprintf(tsv.fp, "# float32 CFM training step, batch %d; the roofline counts the products (bench/unet_roofline.h) at "
                    "BLIS's sgemm rate measured now\n", BATCH);
    fprintf(tsv.fp, "network\tparameters\tmflop_per_image\tthreads\timages_per_s\tsgemm_roofline_images_per_s\tshare\n");
    for (int which = 0; which < 3; which++) {
        fmd_unet_config cfg;
        fmd_unet_default_config(28, 10, &cfg);
        if (which == 0)   /* chapter 5's network (unet_recipe.h) */
            ch05_unet_network(&cfg);
        if (which == 1) {   /* the one it had before patches */
            cfg.channels = 8, cfg.levels = 3, cfg.attention = 1, cfg.emb = 32;
            cfg.mult[0] = 1, cfg.mult[1] = 2, cfg.mult[2] = 4;
        }
        cfg.dtype = FMD_F32;
        const char *name = which == 0 ? "p2-c16-12 (chapter 5)" : which == 1 ? "c8-124" : "c32-122 (default)";
        fmd_unet *net;
        gsl_rng *r;
        if (fmd_unet_alloc(&cfg, &net) != FMD_OK)
            return 1;
        fmd_rng_alloc(0, 0, &r);
        fmd_unet_init(net, r);
        gsl_rng_free(r);
        const double flops = 2.0 * 3.0 * forward_macs(net, 1.0);   /* forward once, backward twice; 2 flops a multiply-add */
        for (int threads = 1; threads <= 2; threads++) {
            fmd_train_config tc = {.objective = FMD_LOSS_CFM, .batch = BATCH, .lr = 1e-3, .t_min = 0.0, .t_max = 1.0,
                                   .label_drop = 0.1, .seed = 1, .threads = threads};
            fmd_schedule_by_name("condot", &tc.schedule);
            fmd_unet_trainer *tr;
            if (fmd_unet_trainer_alloc(&tc, unet_noise_images, NULL, net, &tr) != FMD_OK)
                return 1;
            one_step(tr);
            const double rate = best_rate(one_step, tr, 3.0) * BATCH, roof = gemm_peak(FMD_F32, threads) / flops;
            fprintf(tsv.fp, "%s\t%zu\t%.4g\t%d\t%.4g\t%.4g\t%.3f\n", name, net->nparams, flops / 1e6, threads, rate, roof,
                    rate / roof);
            printf("%-20s %d thread%s: %.1f images/s, %.2f of the sgemm roofline %.1f\n", name, threads,
                   threads > 1 ? "s" : " ", rate, rate / roof, roof);
            fmd_unet_trainer_free(tr);
        }
        fmd_unet_free(net);
    }
    return fmd_atomic_commit(&tsv) != FMD_OK;
}
