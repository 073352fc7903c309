/* cmd_train_unet.c -- `fmd train --arch unet`: the U-Net of lecture 002 on
 * square images (issue 16), with progress, Ctrl-C that keeps the last
 * completed step, and --resume that continues a run exactly. `fmd train`
 * hands over here for --arch unet, or for --resume of a U-Net model file. */
#include "cli/cli.h"
#include "fmd.h"
#include "files/model_file.h"
#include "files/unet_checkpoint.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: fmd train --arch unet (--data fashion-mnist | --data-file FILE) --out MODEL [options]\n"
    "       fmd train --resume MODEL [--steps N] [--out MODEL2] [--threads N]\n"
    "\n"
    "Train the U-Net of lecture 002 (src/networks/unet.h: residual blocks with the time\n"
    "embedded at every scale, self-attention at the lowest resolution) on square\n"
    "images, in float64 or float32.\n"
    "\n"
    "  --data fashion-mnist  the 60000 training images (28 x 28, pixels in [-1, 1])\n"
    "  --data-file FILE      or rows of d = side^2 numbers (side divisible by 2^(levels-1))\n"
    "  --labels              condition on the classes (Fashion-MNIST's, or the last\n"
    "                        column of --data-file); \"no label\" with probability\n"
    "                        --label-drop P (default 0.1): classifier-free guidance\n"
    "  --objective NAME      cfm (the field, default) | ddpm (the noise) | denoiser\n"
    "                        (the clean image) | edm (the denoiser as Karras et al.\n"
    "                        2022 train it: preconditioned, each noise level weighted\n"
    "                        equally, levels ln sigma ~ N(--p-mean, --p-std^2),\n"
    "                        defaults -1.2 and 1.2). ddpm, denoiser and edm scale\n"
    "                        the input and output by the data's RMS (src/networks/unet.h)\n"
    "  --time-law LAW        uniform (t ~ U[0, 1], default; cfm, ddpm, denoiser) or\n"
    "                        lognormal (ln sigma ~ N(--p-mean, --p-std^2), sigma =\n"
    "                        beta_t / alpha_t: logit-normal t on condot; edm's own)\n"
    "  --schedule NAME       condot (default) | cosine | lab | poly:N | vp\n"
    "  --channels C          base channels; default 32\n"
    "  --mult M1,M2,...      the levels' channel multipliers, one a level (each halves\n"
    "                        the side); default 1,2,2: 28, 14, 7 pixels at C, 2C, 2C\n"
    "  --attention on|off    self-attention at the lowest resolution; default on\n"
    "  --patch P             1 (default) or 2: the image enters as P x P patches, the\n"
    "                        P^2 channels of a side/P map (4 times less arithmetic\n"
    "                        at the top level; the side divisible by P 2^(levels-1))\n"
    "  --conv METHOD         direct (im2col, default) or winograd (F(2x2,3x3): 16\n"
    "                        multiplies where direct takes 36; faster only for wide\n"
    "                        layers, see bench/README.md): the same function, rounded\n"
    "                        differently\n"
    "  --precision P         f64 (default) or f32: the weights, feature maps,\n"
    "                        gradients and Adam's moments (f32: BLIS's sgemm, about\n"
    "                        twice as fast)\n"
    "  --steps N             default 2000\n"
    "  --batch B             default 64\n"
    "  --lr LR               Adam step size; default 1e-3\n"
    "  --clip C              gradient-norm clipping (0 = off); default 1\n"
    "  --ema D               weight EMA decay, with a warm-up (0 = off); default 0.999\n"
    "  --seed S              default 0; with the other options it fixes every bit\n"
    "  --threads N           default: the CPUs this process may use (same bits on any)\n"
    "  --out MODEL           model file to write (safetensors, format fmd-unet-1; atomic)\n"
    "  --save-every N        also save every N steps\n"
    "  --quiet               no progress lines\n"
    "  --resume MODEL        continue the run saved in MODEL, exactly\n"
    "\n"
    "Progress goes to standard error. Ctrl-C (or SIGTERM) stops after the current\n"
    "step and saves it (exit status 130).\n";

int fmd_cli_is_unet_file(const char *path)
{
    uint8_t *buf = NULL;
    fmd_st_file f;
    char why[16];
    const int ok = fmd_model_file_read(path, 1, &buf, &f, NULL, why, sizeof why) == FMD_OK && fmd_st_meta(&f, "format") &&
                   strcmp(fmd_st_meta(&f, "format"), FMD_UNET_FORMAT) == 0;
    fmd_st_free(&f);
    free(buf);
    return ok;
}

/* The training images: Fashion-MNIST or a data file; *classes their count. */
static int load_data(const char *data_file, int labels, fmd_image_set *set, size_t *classes)
{
    if (data_file)
        return fmd_cli_read_data_file("train", data_file, labels, set, classes);
    if (fmd_cli_fmnist("train", 1, set) != 0)
        return 2;
    *classes = 10;
    return 0;
}

int fmd_cmd_train_unet(int argc, char **argv)
{
    const char *hint = "Run 'fmd train --arch unet --help' for usage.";
    const char *data_name = NULL, *data_file = NULL, *out_path = NULL, *resume = NULL, *objective = "cfm";
    const char *schedule = "condot", *attention = "on", *precision = "f64", *mult = "1,2,2", *conv = "direct";
    const char *time_law = NULL;
    double steps = 2000, batch = 64, lr = 1e-3, clip = 1.0, ema = 0.999, seed = 0, channels = 32, label_drop = 0.1;
    double save_every = 0, threads = fmd_cli_default_threads(), p_mean = -1.2, p_std = 1.2, patch = 1;
    int labels = 0, quiet = 0, steps_given = 0, others = 0;
    for (int i = 1; i < argc; i++) {
        const char *v, *a = argv[i];
        if (fmd_cli_is_help(a)) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--arch"))) {
            if (strcmp(v, "unet") != 0)
                return fmd_cli_usage_error("train", hint, "--arch %s: this is the U-Net's trainer", v);
        } else if ((v = fmd_cli_option(argc, argv, &i, "--data"))) data_name = v, others++;
        else if ((v = fmd_cli_option(argc, argv, &i, "--data-file"))) data_file = v, others++;
        else if ((v = fmd_cli_option(argc, argv, &i, "--objective"))) objective = v, others++;
        else if ((v = fmd_cli_option(argc, argv, &i, "--schedule"))) schedule = v, others++;
        else if ((v = fmd_cli_option(argc, argv, &i, "--attention"))) attention = v, others++;
        else if ((v = fmd_cli_option(argc, argv, &i, "--precision"))) precision = v, others++;
        else if ((v = fmd_cli_option(argc, argv, &i, "--mult"))) mult = v, others++;
        else if ((v = fmd_cli_option(argc, argv, &i, "--conv"))) conv = v, others++;
        else if ((v = fmd_cli_option(argc, argv, &i, "--time-law"))) time_law = v, others++;
        else if ((v = fmd_cli_option(argc, argv, &i, "--out"))) out_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--resume"))) resume = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--channels"))) {
            if (fmd_cli_number("train", a, v, 1, 1024, 1, &channels)) return 2;
            others++;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--patch"))) {
            if (fmd_cli_number("train", a, v, 1, 2, 1, &patch)) return 2;
            others++;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--steps"))) {
            if (fmd_cli_number("train", a, v, 1, 1e9, 1, &steps)) return 2;
            steps_given = 1;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--batch"))) {
            if (fmd_cli_number("train", a, v, 2, 65536, 1, &batch)) return 2;
            others++;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--lr"))) {
            if (fmd_cli_number("train", a, v, 1e-12, 10, 0, &lr)) return 2;
            others++;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--clip"))) {
            if (fmd_cli_number("train", a, v, 0, 1e12, 0, &clip)) return 2;
            others++;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--ema"))) {
            if (fmd_cli_number("train", a, v, 0, 0.999999, 0, &ema)) return 2;
            others++;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--seed"))) {
            if (fmd_cli_number("train", a, v, 0, 1e15, 1, &seed)) return 2;
            others++;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--p-mean"))) {
            if (fmd_cli_number("train", a, v, -20, 20, 0, &p_mean)) return 2;
            others++;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--p-std"))) {
            if (fmd_cli_number("train", a, v, 1e-3, 20, 0, &p_std)) return 2;
            others++;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--label-drop"))) {
            if (fmd_cli_number("train", a, v, 0, 1, 0, &label_drop)) return 2;
            others++;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--threads"))) {
            if (fmd_cli_number("train", a, v, 1, FMD_MAX_THREADS, 1, &threads)) return 2;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--save-every"))) {
            if (fmd_cli_number("train", a, v, 1, 1e9, 1, &save_every)) return 2;
        } else if (strcmp(a, "--labels") == 0) labels = 1, others++;
        else if (strcmp(a, "--quiet") == 0) quiet = 1;
        else
            return fmd_cli_usage_error("train", hint, "unknown option '%s' for --arch unet", a);
    }
    fmd_run_info info;
    memset(&info, 0, sizeof info);
    fmd_unet *net = NULL;
    fmd_train_config tc;
    memset(&tc, 0, sizeof tc);
    fmd_image_set set = {0};
    size_t classes = 0;
    if (resume) {
        char why[512];
        if (others)
            return fmd_cli_usage_error("train", hint, "with --resume only --steps, --out, --threads, --save-every and "
                                                      "--quiet may be given: the rest is the run's own");
        if (fmd_unet_checkpoint_load(resume, 0, &net, &info, NULL, why, sizeof why) != FMD_OK) {
            fprintf(stderr, "fmd train: error: %s: %s\n", resume, why);
            return 2;
        }
        if (!steps_given)
            steps = (double)info.target_steps;
        if (steps <= (double)info.steps) {
            fmd_unet_free(net);
            return fmd_cli_usage_error("train", "Give --steps N above the steps done to continue.",
                                       "%s has done %lu of %.0f steps: nothing to continue", resume, info.steps, steps);
        }
        if (fmd_objective_by_name(info.objective, &tc.objective) != FMD_OK ||
            fmd_cli_schedule("train", info.schedule, &tc.schedule) != 0) {
            fmd_unet_free(net);
            return 2;
        }
        labels = net->cfg.n_classes > 0;
        const int is_file = strncmp(info.data, "file:", 5) == 0;
        const int rc = load_data(is_file ? info.data + 5 : NULL, labels, &set, &classes);
        if (rc) {
            fmd_unet_free(net);
            return rc;
        }
        tc.batch = info.batch, tc.lr = info.lr, tc.clip = info.clip, tc.ema_decay = info.ema_decay;
        tc.t_min = info.t_min, tc.t_max = info.t_max, tc.label_drop = info.label_drop, tc.seed = info.seed;
        tc.weighting = (fmd_weighting)info.weighting, tc.time_law = (fmd_time_law)info.time_law;
        tc.p_mean = info.p_mean, tc.p_std = info.p_std;
        if (!out_path)
            out_path = resume;
    } else {
        if (!data_name == !data_file)
            return fmd_cli_usage_error("train", hint, "give one of --data fashion-mnist or --data-file FILE");
        if (data_name && strcmp(data_name, "fashion-mnist") != 0)
            return fmd_cli_usage_error("train", "The U-Net trains on images: --data fashion-mnist, or --data-file.",
                                       "--data %s is not an image set", data_name);
        if (!out_path)
            return fmd_cli_usage_error("train", hint, "--out MODEL is required");
        const int edm = strcmp(objective, "edm") == 0;   /* the denoiser, EDM's way */
        if (fmd_objective_by_name(edm ? "denoiser" : objective, &tc.objective) != FMD_OK ||
            (tc.objective != FMD_LOSS_CFM && tc.objective != FMD_LOSS_DDPM && tc.objective != FMD_LOSS_DENOISER) ||
            strcmp(objective, "ddpm-discrete") == 0)
            return fmd_cli_usage_error("train", hint, "--objective %s: the U-Net trains cfm, ddpm, denoiser or edm", objective);
        if (strcmp(attention, "on") != 0 && strcmp(attention, "off") != 0)
            return fmd_cli_usage_error("train", hint, "--attention %s: give on or off", attention);
        if (time_law && strcmp(time_law, "uniform") != 0 && strcmp(time_law, "lognormal") != 0)
            return fmd_cli_usage_error("train", hint, "--time-law %s: give uniform or lognormal", time_law);
        if (edm && time_law && strcmp(time_law, "lognormal") != 0)
            return fmd_cli_usage_error("train", "Leave --time-law out with --objective edm, or train the denoiser.",
                                       "--time-law %s: edm draws its levels lognormal", time_law);
        fmd_conv_method conv_method;
        if (fmd_conv_method_by_name(conv, &conv_method) != FMD_OK)
            return fmd_cli_usage_error("train", hint, "--conv %s: give winograd or direct", conv);
        if (fmd_cli_schedule("train", schedule, &tc.schedule) != 0)
            return 2;
        fmd_dtype dtype;
        if (fmd_cli_precision("train", precision, &dtype) != 0)
            return 2;
        fmd_unet_config levels_of = {0};   /* "1,2,2": one multiplier a level */
        if (fmd_unet_parse_mult(mult, &levels_of) != FMD_OK)
            return fmd_cli_usage_error("train", "Give 1 to 4 whole multipliers from 1 to 64, say --mult 1,2,2.",
                                       "--mult %s: not a list of channel multipliers", mult);
        const size_t levels = levels_of.levels;
        const int rc = load_data(data_file, labels, &set, &classes);
        if (rc)
            return rc;
        const size_t d = set.rows * set.cols, side = (size_t)lround(sqrt((double)d));
        const size_t halving = ((size_t)1 << (levels - 1)) * (size_t)patch;
        if (side * side != d || side % halving != 0) {
            fmd_image_set_free(&set);
            return fmd_cli_usage_error("train", "Give square images whose side is divisible by P 2^(levels - 1) (28 x 28 "
                                       "takes up to 3 levels, or 2 with --patch 2), or fewer --mult levels.",
                                       "the data have d = %zu numbers a row: not a square of a side divisible by %zu, "
                                       "as %zu levels need%s", d, halving, levels, patch > 1 ? " on 2 x 2 patches" : "");
        }
        fmd_unet_config cfg;
        fmd_unet_default_config(side, labels ? classes : 0, &cfg);
        cfg.levels = levels;
        memcpy(cfg.mult, levels_of.mult, sizeof cfg.mult);
        cfg.channels = (size_t)channels, cfg.attention = strcmp(attention, "on") == 0;
        cfg.emb = 4 * cfg.channels, cfg.dtype = dtype, cfg.conv = conv_method;
        cfg.patch = (size_t)patch;
        cfg.output = fmd_readout_for(tc.objective), cfg.schedule = tc.schedule;   /* PLAIN for cfm */
        if (cfg.output != FMD_OUT_PLAIN &&
            fmd_data_rms(fmd_image_set_sampler, &set, d, 10000, (uint64_t)seed, &cfg.sigma_data) != FMD_OK) {
            fmd_image_set_free(&set);
            return fmd_cli_out_of_memory("train", "the data's RMS", 0.0);
        }
        if (edm)
            tc.weighting = FMD_WEIGHT_EDM, info.weighting = FMD_WEIGHT_EDM;
        if (edm || (time_law && strcmp(time_law, "lognormal") == 0)) {   /* EDM's levels, or logit-normal t */
            tc.time_law = FMD_TIME_LOGNORMAL, tc.p_mean = p_mean, tc.p_std = p_std;
            info.time_law = FMD_TIME_LOGNORMAL, info.p_mean = p_mean, info.p_std = p_std;
        }
        gsl_rng *r = NULL;
        if (fmd_unet_alloc(&cfg, &net) != FMD_OK || fmd_rng_alloc((uint64_t)seed, 1, &r) != FMD_OK ||
            fmd_unet_init(net, r) != FMD_OK) {
            if (r)
                gsl_rng_free(r);
            fmd_unet_free(net);
            fmd_image_set_free(&set);
            return fmd_cli_out_of_memory("train", "the U-Net", 0.0);
        }
        gsl_rng_free(r);
        tc.batch = (size_t)batch, tc.lr = lr, tc.clip = clip, tc.ema_decay = ema, tc.t_min = 0.0, tc.t_max = 1.0;
        tc.label_drop = labels ? label_drop : 0.0, tc.seed = (uint64_t)seed;
        snprintf(info.objective, sizeof info.objective, "%s", edm ? "denoiser" : objective);
        snprintf(info.schedule, sizeof info.schedule, "%s", schedule);
        if (data_file) {
            char *full = realpath(data_file, NULL);
            snprintf(info.data, sizeof info.data, "file:%s", full ? full : data_file);
            free(full);
        } else {
            snprintf(info.data, sizeof info.data, "fashion-mnist");
        }
        info.batch = tc.batch, info.lr = lr, info.clip = clip, info.ema_decay = ema, info.t_max = 1.0;
        info.label_drop = tc.label_drop, info.seed = tc.seed;
    }
    tc.threads = fmd_cli_threads("train", threads);
    info.target_steps = (unsigned long)steps;
    fmd_unet_trainer *tr;
    int rc = 0;
    if (fmd_unet_trainer_alloc(&tc, fmd_image_set_sampler, &set, net, &tr) != FMD_OK) {
        rc = fmd_cli_out_of_memory("train", "the U-Net's training workspaces", 0.0);
    } else if (resume) {
        char why[512];
        fmd_unet *tmp;
        fmd_run_info again;
        if (fmd_unet_checkpoint_load(resume, 0, &tmp, &again, tr, why, sizeof why) != FMD_OK) {
            fprintf(stderr, "fmd train: error: %s: %s\n", resume, why);
            rc = 2;
        } else {
            fmd_unet_free(tmp);
        }
    }
    if (rc) {
        fmd_unet_trainer_free(tr);
        fmd_unet_free(net);
        fmd_image_set_free(&set);
        return rc;
    }
    fmd_cli_catch_stop();   /* Ctrl-C and SIGTERM: stop after the current step and save it */
    const int tty = !quiet && isatty(STDERR_FILENO);
    const unsigned long total = (unsigned long)steps;
    fmd_cli_rate_window window = {{0}, {0}, 0, 0, 0.0};
    const double t0 = fmd_cli_now();
    fmd_cli_window_rate(&window, 0.0, tr->step);
    double loss = 0.0, smooth = NAN, last_print = -1e9;   /* smooth: this session's running mean of the loss */
    unsigned long next_line = tr->step + (total - tr->step + 19) / 20;
    while (tr->step < total && !fmd_cli_stop_requested() && rc == 0) {
        if (fmd_unet_train_step(tr, &loss) != FMD_OK) {
            fprintf(stderr, "fmd train: error: a training step failed\n");
            rc = 1;
            break;
        }
        smooth = isnan(smooth) ? loss : 0.95 * smooth + 0.05 * loss;
        const double el = fmd_cli_now() - t0, rate = fmd_cli_window_rate(&window, el, tr->step);
        if (!quiet && ((tty && el - last_print > 0.2) || (!tty && tr->step >= next_line) || tr->step == total)) {
            fmd_cli_progress(tty, tr->step, total, smooth, rate, tr->step == total);
            last_print = el;
            next_line += (total + 19) / 20;
        }
        if (save_every > 0 && tr->step % (unsigned long)save_every == 0) {
            info.steps = tr->step;
            if (fmd_unet_checkpoint_save(out_path, net, tr, &info) != FMD_OK)
                rc = 1;
        }
    }
    info.steps = tr->step;
    if (rc == 0 && fmd_unet_checkpoint_save(out_path, net, tr, &info) != FMD_OK) {
        fprintf(stderr, "fmd train: error: cannot write %s\n", out_path);
        rc = 1;
    }
    if (rc == 0 && fmd_cli_stop_requested()) {
        fprintf(stderr, "\nfmd train: interrupted; saved step %lu to %s (continue with --resume %s)\n", tr->step, out_path,
                out_path);
        rc = 130;
    }
    fmd_unet_trainer_free(tr);
    fmd_unet_free(net);
    fmd_image_set_free(&set);
    return rc;
}
