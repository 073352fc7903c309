/* cmd_train.c -- `fmd train`: Algorithm 3 (CFM) or 4 (DSM, DDPM) on a
 * mixture file, with progress, Ctrl-C that keeps the last completed step, and
 * --resume that continues a run exactly. */
#include "cli/cli.h"
#include "fmd.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: fmd train (--gmm FILE | --data NAME | --data-file FILE) --out MODEL [options]\n"
    "       fmd train --resume MODEL [--steps N] [--out MODEL2]\n"
    "\n"
    "Train the network of chapter 4 towards a Gaussian mixture (Algorithm 3 or 4).\n"
    "\n"
    "  --arch NAME           mlp (this network, the default) | unet (lecture 002's\n"
    "                        U-Net for images: see `fmd train --arch unet --help`)\n"
    "  --gmm FILE            data distribution (mixture file, see `fmd field --help`)\n"
    "  --data NAME           or a 2-D toy set: moons | circles | checkerboard | spiral,\n"
    "                        or fashion-mnist (the 60000 training images, 784 pixels\n"
    "                        in [-1, 1], from Debian's dataset-fashion-mnist)\n"
    "  --objective NAME      cfm (flow matching) | dsm (denoising score matching) | ddpm\n"
    "                        (noise prediction) | denoiser (clean-data prediction\n"
    "                        D(x) = E[z|x]) | cfm+dsm (one network, two outputs: the\n"
    "                        field and the score, trained on the sum of the two\n"
    "                        losses, the notes' section 4.2) | ddpm-discrete (`003`'s\n"
    "                        DDPM: noise prediction on the N levels of its chain,\n"
    "                        schedule ddpm:N, t = 1 - k/N with k ~ U{1..N}); default cfm\n"
    "  --levels N            ddpm-discrete: the chain's levels, 100..100000; default 1000\n"
    "  --schedule NAME       condot | cosine | lab | poly:N | vp | ddpm:N; default condot\n"
    "  --hidden W1,W2,...    hidden widths; default 64,64,64,64\n"
    "  --activation NAME     silu | relu | tanh; default silu\n"
    "  --precondition P      edm (default for dsm, ddpm, denoiser) or none: edm reads\n"
    "                        the network out as c_skip(t) x + c_out(t) F (Karras et\n"
    "                        al. 2022), so F is of unit size at every t and the field\n"
    "                        Prop 1 gives does not multiply its error by 1/alpha_t\n"
    "                        (noise, score) or 1/beta_t (denoiser); none is the\n"
    "                        plain network of the notes (chapter 4 compares them)\n"
    "  --fourier F           time as F Fourier pairs (0 = raw t); default 0\n"
    "  --steps N             total steps; default 5000\n"
    "  --batch B             default 1000\n"
    "  --lr LR               Adam step size; default 1e-3\n"
    "  --clip C              gradient-norm clipping (0 = off); default 0\n"
    "  --ema D               weight EMA decay (0 = off); default 0\n"
    "  --seed S              default 0; with the other options it fixes every bit\n"
    "  --weighting W         dsm and cfm+dsm's score: beta2 (default; each row's\n"
    "                        error times beta_t^2, Song et al. 2021) or uniform (the\n"
    "                        notes' Algorithm 4);\n"
    "                        ddpm-discrete: uniform (default, 003's L_simple) or elbo\n"
    "                        (the ELBO's coefficient of each level, normalised).\n"
    "                        DSM's target -eps/beta_t has variance d/beta_t^2: near\n"
    "                        t = 1, unweighted, it swamps the gradient (the\n"
    "                        instability that ddpm's noise target removes)\n"
    "  --t-max T             train on t ~ Unif[0, T]; default 1, or 0.999 where the\n"
    "                        target is infinite at t = 1 (lab and vp, dsm, cfm+dsm);\n"
    "                        0.95 for those two with --weighting uniform\n"
    "  --labels              condition the network on the data's classes (chapter 5:\n"
    "                        a mixture's component labels, a toy set's classes)\n"
    "  --label-drop P        with --labels, replace each label by \"no label\" with\n"
    "                        probability P (classifier-free guidance); default 0.1\n"
    "  --threads N           threads; default: the CPUs this process may use (same\n"
    "                        bits on any number)\n"
    "  --precision P         f64 (default) or f32: the network's weights, activations and\n"
    "                        Adam state in float32 (about twice as fast); losses are\n"
    "                        float64 either way. A resumed run keeps its model's\n"
    "                        precision\n"
    "  --data-file FILE      or your own data: whitespace-separated rows of d numbers\n"
    "                        ('#' comments); with --labels the last column is each\n"
    "                        row's class, a whole number 0..1023\n"
    "  --out MODEL           checkpoint to write (safetensors; atomic)\n"
    "  --save-every N        also save the checkpoint every N steps\n"
    "  --log FILE            the loss history as TSV: step, loss, the exact FM loss\n"
    "                        (every 100 steps, on 1000 fixed points; for cfm on a\n"
    "                        mixture), learning rate, seconds\n"
    "  --quiet               no progress lines\n"
    "  --resume MODEL        continue the run saved in MODEL, exactly: only --steps (more\n"
    "                        than it has done), --out and --threads may be given with it;\n"
    "                        its data are the ones it recorded (another --gmm or --data\n"
    "                        is refused unless --force-data)\n"
    "  --force-data          with --resume, continue on the data given instead\n"
    "\n"
    "Progress goes to standard error: a live bar on a terminal, otherwise one line\n"
    "every 5%. Ctrl-C (or SIGTERM) stops after the current step and saves it (exit\n"
    "status 130).\n";

/* The data a checkpoint records: "toy:NAME", "fashion-mnist" or a mixture
 * file's path (absolute since it is resolved when the run starts). */
static int same_data(const char *recorded, const char *gmm_path, const char *data_name)
{
    if (data_name)
        return strcmp(recorded, data_name) == 0 || (strncmp(recorded, "toy:", 4) == 0 && strcmp(recorded + 4, data_name) == 0);
    return fmd_cli_same_file(gmm_path, recorded);
}

/* Record the data of a run in info->data: "toy:NAME", "file:PATH" or a
 * mixture's PATH, paths resolved (so --resume finds them from anywhere).
 * 0, or -1 if the resolved path does not fit. */
static int record_data(fmd_run_info *info, const char *gmm_path, const char *data_name, const char *data_file)
{
    const char *path = data_file ? data_file : gmm_path;
    if (!path)
        return snprintf(info->data, sizeof info->data, "toy:%s", data_name) < (int)sizeof info->data ? 0 : -1;
    char *full = realpath(path, NULL);
    const int n = snprintf(info->data, sizeof info->data, "%s%s", data_file ? "file:" : "", full ? full : path);
    free(full);
    return n < (int)sizeof info->data ? 0 : -1;
}

/* --weighting's names; -1 for an unknown one */
static int weighting_by_name(const char *name)
{
    return strcmp(name, "uniform") == 0 ? FMD_WEIGHT_UNIFORM : strcmp(name, "beta2") == 0 ? FMD_WEIGHT_BETA2
         : strcmp(name, "elbo") == 0    ? FMD_WEIGHT_ELBO    : -1;
}

static int parse_widths(const char *s, fmd_mlp_config *cfg)
{
    cfg->depth = 0;
    while (*s) {
        char *end;
        long w = strtol(s, &end, 10);
        if (end == s || w <= 0 || w > 65536 || cfg->depth == FMD_MLP_MAX_HIDDEN || (*end && *end != ','))
            return -1;
        cfg->width[cfg->depth++] = (size_t)w;
        s = *end ? end + 1 : end;
    }
    return cfg->depth ? 0 : -1;
}

int fmd_cmd_train(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {   /* the U-Net has its own trainer: --arch unet, or resuming a U-Net file */
        const char *v;
        if ((v = fmd_cli_option(argc, argv, &i, "--arch")) && strcmp(v, "unet") == 0)
            return fmd_cmd_train_unet(argc, argv);
        if ((v = fmd_cli_option(argc, argv, &i, "--resume")) && *v && fmd_cli_is_unet_file(v))
            return fmd_cmd_train_unet(argc, argv);
    }
    const char *hint = "Run 'fmd train --help' for usage.";
    const char *gmm_path = NULL, *data_name = NULL, *out_path = NULL, *resume = NULL, *objective = "cfm", *schedule = "condot";
    const char *hidden = "64,64,64,64", *activation = "silu", *precondition = NULL, *weighting = NULL;
    double steps = 5000, batch = 1000, lr = 1e-3, clip = 0, ema = 0, seed = 0, fourier = 0, t_max = -1;
    double label_drop = 0.1, threads = fmd_cli_default_threads();
    const char *precision = NULL;
    int steps_given = 0, labels = 0, force_data = 0, label_drop_given = 0, quiet = 0;
    const char *log_path = NULL, *data_file = NULL;
    double save_every = 0, levels = 1000;
    int levels_given = 0, schedule_given = 0;
    char level_schedule[32];
    const char *change = NULL;   /* the first option that would change a run, as written: refused with --resume */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;   /* the option as written (i moves past its value) */
        double *num = NULL;
        double lo = 0, hi = 0;
        int whole = 0;   /* a count, an index or a seed: no fractions */
        if (fmd_cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = fmd_cli_option(argc, argv, &i, "--arch"))) {
            if (strcmp(v, "mlp") != 0)   /* unet went to its own trainer above */
                return fmd_cli_usage_error("train", hint, "--arch '%s': mlp (the default) or unet", v);
        } else if ((v = fmd_cli_option(argc, argv, &i, "--gmm"))) gmm_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--data-file"))) data_file = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--data"))) data_name = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--log"))) log_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--save-every"))) num = &save_every, lo = 1, hi = 1e12, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--out"))) out_path = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--resume"))) resume = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--objective"))) change = change ? change : arg, objective = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--schedule"))) change = change ? change : arg, schedule = v, schedule_given = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--levels"))) change = change ? change : arg, num = &levels, lo = 100, hi = 100000, whole = 1, levels_given = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--hidden"))) change = change ? change : arg, hidden = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--activation"))) change = change ? change : arg, activation = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--precondition"))) change = change ? change : arg, precondition = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--weighting"))) change = change ? change : arg, weighting = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--precision"))) precision = v;
        else if ((v = fmd_cli_option(argc, argv, &i, "--steps"))) num = &steps, lo = 1, hi = 1e12, steps_given = 1, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--batch"))) change = change ? change : arg, num = &batch, lo = 2, hi = 1 << 24, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--lr"))) change = change ? change : arg, num = &lr, lo = 1e-12, hi = 10;
        else if ((v = fmd_cli_option(argc, argv, &i, "--clip"))) change = change ? change : arg, num = &clip, lo = 0, hi = 1e12;
        else if ((v = fmd_cli_option(argc, argv, &i, "--ema"))) change = change ? change : arg, num = &ema, lo = 0, hi = 0.999999999;
        else if ((v = fmd_cli_option(argc, argv, &i, "--seed"))) change = change ? change : arg, num = &seed, lo = 0, hi = 4294967295.0, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--threads"))) num = &threads, lo = 1, hi = 64, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--fourier"))) change = change ? change : arg, num = &fourier, lo = 0, hi = 64, whole = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--t-max"))) change = change ? change : arg, num = &t_max, lo = 0.01, hi = 1;
        else if ((v = fmd_cli_option(argc, argv, &i, "--label-drop"))) change = change ? change : arg, label_drop_given = 1, num = &label_drop, lo = 0, hi = 1;
        else if (strcmp(argv[i], "--labels") == 0) change = change ? change : arg, labels = 1;
        else if (strcmp(argv[i], "--force-data") == 0) force_data = 1;
        else if (strcmp(argv[i], "--quiet") == 0) quiet = 1;
        else
            return fmd_cli_usage_error("train", hint, "unknown option '%s'", argv[i]);
        if (v && !*v)
            return fmd_cli_missing_value("train", hint, arg);
        if (num && fmd_cli_number("train", arg, v, lo, hi, whole, num) != 0)
            return 2;
    }
    snprintf(level_schedule, sizeof level_schedule, "ddpm:%.0f", levels);
    fmd_dtype dtype = FMD_F64;
    if (precision && fmd_cli_precision("train", precision, &dtype) != 0)
        return 2;
    fmd_mlp *net = NULL;
    fmd_run_info info;
    memset(&info, 0, sizeof info);
    char why[256];
    int data_from_checkpoint = 0;
    if (resume) {
        if (change)   /* a resumed run continues exactly as it was saved */
            return fmd_cli_usage_error("train", "With --resume only --steps, --out, --threads and --force-data may be "
                                                "given; to train differently, start a new run with --out.",
                                       "%.*s would change the run saved in %s", (int)strcspn(change, "="), change,
                                       resume);
        if (fmd_checkpoint_load(resume, &net, &info, NULL, why, sizeof why) != FMD_OK) {
            fprintf(stderr, "fmd train: error: %s: %s\n", resume, why);
            return 2;
        }
        if (!gmm_path && !data_name && !data_file) {
            data_from_checkpoint = 1;
            if (strncmp(info.data, "file:", 5) == 0)
                data_file = info.data + 5, labels = net->cfg.n_classes > 0;
            else if (strncmp(info.data, "toy:", 4) == 0)
                data_name = info.data + 4;
            else if (strcmp(info.data, "fashion-mnist") == 0)
                data_name = info.data;
            else
                gmm_path = info.data;
        } else if (data_file ? !(strncmp(info.data, "file:", 5) == 0 && same_data(info.data + 5, data_file, NULL))
                             : !same_data(info.data, gmm_path, data_name)) {
            if (force_data) {   /* continue on the data given, and record it */
                labels = net->cfg.n_classes > 0;
                if (record_data(&info, gmm_path, data_name, data_file) != 0) {
                    fmd_mlp_free(net);
                    return fmd_cli_usage_error("train", "Move the data to a shorter path.",
                                               "the data's path is longer than a model file records");
                }
            } else {
            fmd_mlp_free(net);
            return fmd_cli_usage_error("train", "Drop --gmm/--data/--data-file to continue on the recorded data, or add "
                                                "--force-data to continue on these.",
                                       "%s was trained on %s, not on %s", resume, info.data,
                                       gmm_path ? gmm_path : data_name ? data_name : data_file);
            }
        }
        if (precision && dtype != net->cfg.dtype) {
            fmd_mlp_free(net);
            return fmd_cli_usage_error("train", "Drop --precision, or start a new run.",
                                       "%s was trained in %s; a resumed run keeps its precision (--precision %s)",
                                       resume, fmd_dtype_name(dtype == FMD_F32 ? FMD_F64 : FMD_F32), precision);
        }
        if (!out_path)
            out_path = resume;
        if (!steps_given)
            steps = (double)info.target_steps;
        if (steps < (double)info.steps) {
            fmd_mlp_free(net);
            return fmd_cli_usage_error("train", "Give --steps larger than the steps done, or leave it out to reach the "
                                                "run's own target.",
                                       "%s has done %lu steps; --steps %.0f asks for fewer", resume, info.steps, steps);
        }
        if (steps == (double)info.steps) {
            fprintf(stderr, "fmd train: %s is at step %lu already; nothing to do (give --steps N > %lu to train on)\n",
                    resume, info.steps, info.steps);
            fmd_mlp_free(net);
            return 0;
        }
    } else {
        if ((gmm_path && *gmm_path) + (data_name && *data_name) + (data_file && *data_file) != 1)
            return fmd_cli_usage_error("train", hint, "give one of --gmm FILE, --data NAME or --data-file FILE");
        if (!out_path || !*out_path)
            return fmd_cli_usage_error("train", hint, "--out MODEL is required");
        if (label_drop_given && !labels)
            return fmd_cli_usage_error("train", "Add --labels (classifier-free guidance), or drop --label-drop.",
                                       "--label-drop has no effect without --labels");
        if (force_data)
            return fmd_cli_usage_error("train", hint, "--force-data goes with --resume");
        if (precondition && strcmp(precondition, "edm") != 0 && strcmp(precondition, "none") != 0)
            return fmd_cli_usage_error("train", "Read-outs: edm (the default for dsm, ddpm and denoiser) or none.",
                                       "unknown --precondition '%s'", precondition);
        if (weighting && weighting_by_name(weighting) < 0)
            return fmd_cli_usage_error("train", "Weightings: beta2 (the default for dsm), elbo (ddpm-discrete) or uniform.",
                                       "unknown --weighting '%s'", weighting);
        const int discrete = strcmp(objective, "ddpm-discrete") == 0;
        if (weighting && weighting_by_name(weighting) == FMD_WEIGHT_ELBO && !discrete)
            return fmd_cli_usage_error("train", "Train with --objective ddpm-discrete --levels N, or drop --weighting.",
                                       "--weighting elbo weights the levels of a discrete DDPM chain");
        if (levels_given && !discrete)
            return fmd_cli_usage_error("train", "Add --objective ddpm-discrete, or drop --levels.",
                                       "--levels has no effect without --objective ddpm-discrete");
        if (discrete && schedule_given && strcmp(schedule, level_schedule) != 0)
            return fmd_cli_usage_error("train", "Drop --schedule: a discrete chain of N levels is schedule ddpm:N.",
                                       "--objective ddpm-discrete trains on the schedule %s, not %s", level_schedule,
                                       schedule);
        if (discrete && t_max > 0)
            return fmd_cli_usage_error("train", "Drop --t-max: a discrete chain trains on all its levels.",
                                       "--t-max has no effect with --objective ddpm-discrete");
        if (discrete)
            schedule = level_schedule;
        const int scored = strcmp(objective, "dsm") == 0 || strcmp(objective, "cfm+dsm") == 0;
        if (weighting && weighting_by_name(weighting) == FMD_WEIGHT_BETA2 && !scored)
            return fmd_cli_usage_error("train", "Drop --weighting: only dsm's target needs it (ddpm's noise target is "
                                                "dsm's, weighted by beta^2, already).",
                                       "--weighting beta2 is for --objective dsm (or cfm+dsm)");
        if (precondition && strcmp(precondition, "edm") == 0 && strncmp(objective, "cfm", 3) == 0)
            return fmd_cli_usage_error("train", "Drop --precondition: a flow model's target is of unit size already.",
                                       "--precondition edm is for the score objectives (dsm, ddpm, denoiser)");
        if (labels && strcmp(objective, "cfm+dsm") == 0)
            return fmd_cli_usage_error("train", "Train cfm (or a score objective) with --labels instead.",
                                       "the two-headed network (cfm+dsm) takes no labels");
    }
    fmd_train_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const char *obj_name = resume ? info.objective : objective, *sch_name = resume ? info.schedule : schedule;
    if (fmd_objective_by_name(obj_name, &cfg.objective) != FMD_OK)
        return fmd_cli_usage_error("train", "Objectives: cfm, dsm, ddpm, denoiser, cfm+dsm, ddpm-discrete.",
                                   "unknown objective '%s'", obj_name);
    if (fmd_cli_schedule("train", sch_name, &cfg.schedule) != 0)
        return 2;
    if (strcmp(obj_name, "ddpm-discrete") == 0)   /* the levels are its schedule's, ddpm:N */
        cfg.levels = (size_t)cfg.schedule.param;
    fmd_gmm *g = NULL;
    fmd_toy toy;
    fmd_image_set images = {0};
    size_t data_d = 2, file_classes = 0;
    if (data_file) {
        if (fmd_cli_read_data_file("train", data_file, labels, &images, &file_classes) != 0) {
            if (data_from_checkpoint)
                fprintf(stderr, "(this path is the data recorded in %s)\n", resume);
            fmd_mlp_free(net);
            return 2;
        }
        data_d = images.cols;
    } else if (data_name && strcmp(data_name, "fashion-mnist") == 0) {
        if (fmd_cli_fmnist("train", 1, &images) != 0) {
            fmd_mlp_free(net);
            return 2;
        }
        data_d = images.rows * images.cols;
    } else if (data_name) {
        if (fmd_toy_by_name(data_name, &toy) != FMD_OK) {
            fmd_mlp_free(net);
            return fmd_cli_usage_error("train", "Data sets: moons, circles, checkerboard, spiral.",
                                       "unknown data set '%s' (or fashion-mnist)", data_name);
        }
    } else {
        fmd_parse_error perr;
        if (fmd_gmm_load(gmm_path, &g, &perr) != FMD_OK) {
            fmd_cli_gmm_error("train", &perr);
            if (data_from_checkpoint)
                fprintf(stderr, "(this path is the data recorded in %s; give --gmm FILE --force-data to use a copy "
                                "elsewhere)\n", resume);
            fmd_mlp_free(net);
            return 2;
        }
        data_d = g->d;
    }
    if (resume) {
        cfg.batch = info.batch, cfg.lr = info.lr, cfg.clip = info.clip, cfg.ema_decay = info.ema_decay;
        cfg.t_min = info.t_min, cfg.t_max = info.t_max, cfg.seed = info.seed, cfg.label_drop = info.label_drop;
        cfg.weighting = (fmd_weighting)info.weighting;
        if (net->cfg.d != data_d) {
            fprintf(stderr, "fmd train: error: the data are %zu-dimensional, the model %zu-dimensional\n", data_d, net->cfg.d);
            fmd_gmm_free(g);
            fmd_image_set_free(&images);
            fmd_mlp_free(net);
            return 2;
        }
    } else {
        fmd_mlp_config mc = {.d = data_d, .n_fourier = (size_t)fourier, .dtype = dtype,
                             .n_out = fmd_loss_width(cfg.objective, data_d) == data_d ? 0 : 2 * data_d};   /* 0 = d */
        if (labels) {   /* one input slot per class of the data, plus "no label" */
            int top = 0;
            for (size_t k = 0; g && k < g->K; k++)
                top = g->label[k] > top ? g->label[k] : top;
            mc.n_classes = g ? (size_t)top + 1 : data_file ? file_classes : images.n ? 10 : (size_t)fmd_toy_classes(&toy);
            cfg.label_drop = label_drop;
        }
        if (parse_widths(hidden, &mc) != 0) {
            fmd_gmm_free(g);
            fmd_image_set_free(&images);
            return fmd_cli_usage_error("train", "Widths are whole numbers from 1 to 65536, comma-separated, at most 8.",
                                       "bad --hidden '%s'", hidden);
        }
        if (fmd_activation_by_name(activation, &mc.act) != FMD_OK) {
            fmd_gmm_free(g);
            fmd_image_set_free(&images);
            return fmd_cli_usage_error("train", "Activations: silu, relu, tanh.", "unknown --activation '%s'", activation);
        }
        /* the score objectives read the network out through EDM's preconditioning unless asked not to */
        mc.output = precondition && strcmp(precondition, "none") == 0 ? FMD_OUT_PLAIN : fmd_readout_for(cfg.objective);
        if (mc.output != FMD_OUT_PLAIN) {
            mc.schedule = cfg.schedule;
            int rs = g ? fmd_gmm_rms(g, &mc.sigma_data)
                       : images.n ? fmd_data_rms(fmd_image_set_sampler, &images, data_d, 10000, (uint64_t)seed, &mc.sigma_data)
                                  : fmd_data_rms(fmd_toy_sample, &toy, data_d, 10000, (uint64_t)seed, &mc.sigma_data);
            if (rs != FMD_OK || !(mc.sigma_data > 0.0)) {
                fprintf(stderr, "fmd train: error: the data's RMS (sigma_data of --precondition edm) is %s; "
                                "give --precondition none\n", rs != FMD_OK ? fmd_strerror(rs) : "zero");
                fmd_gmm_free(g);
                fmd_image_set_free(&images);
                return 2;
            }
        }
        if (fmd_mlp_alloc(&mc, &net) != FMD_OK) {
            double params = 0, in = (double)mc.d + 1.0 + 2.0 * (double)mc.n_fourier + (double)mc.n_classes;
            for (size_t l = 0; l < mc.depth; l++)
                params += (in + 1.0) * (double)mc.width[l], in = (double)mc.width[l];
            params += (in + 1.0) * (double)mc.d;
            fmd_gmm_free(g);
            fmd_image_set_free(&images);
            return fmd_cli_out_of_memory("train", "the network's parameters", params * (double)fmd_dtype_size(dtype));
        }
        gsl_rng *r;
        fmd_rng_alloc((uint64_t)seed, 0xfeedULL, &r);   /* initial weights: their own stream */
        fmd_mlp_init(net, r);
        gsl_rng_free(r);
        cfg.batch = (size_t)batch, cfg.lr = lr, cfg.clip = clip, cfg.ema_decay = ema, cfg.seed = (uint64_t)seed;
        /* t < 1 where the target is infinite at t = 1: DSM (beta = 0), CFM with lab/vp (beta_dot = -inf) */
        fmd_sched_point end;
        fmd_schedule_at(&cfg.schedule, 1.0, &end);
        cfg.t_min = 0.0;
        cfg.t_max = !isfinite(end.beta_dot) ? 0.999 : 1.0;
        /* the loss weight as asked (checked above), else the objective's own: Song et al.'s beta^2 for a
         * score target, 1 otherwise (for ddpm-discrete `003`'s L_simple: "in practice the coefficient
         * is omitted") */
        const int scored = cfg.objective == FMD_LOSS_CSM || cfg.objective == FMD_LOSS_CFM_DSM;
        cfg.weighting = weighting ? (fmd_weighting)weighting_by_name(weighting) : scored ? FMD_WEIGHT_BETA2 : FMD_WEIGHT_UNIFORM;
        if (scored)   /* the score target -eps/beta is infinite at t = 1; unweighted, its variance swamps the gradient */
            cfg.t_max = cfg.weighting == FMD_WEIGHT_UNIFORM ? 0.95 : 0.999;
        if (t_max > 0)
            cfg.t_max = t_max;
        if (cfg.levels > 0)
            cfg.t_max = 1.0;   /* t ~ U[0, 1) floored to the grid: every level k = 1..N */
        snprintf(info.objective, sizeof info.objective, "%s", objective);
        snprintf(info.schedule, sizeof info.schedule, "%s", schedule);
        if (record_data(&info, gmm_path, data_name, data_file) != 0) {
            fmd_mlp_free(net);
            fmd_gmm_free(g);
            fmd_image_set_free(&images);
            return fmd_cli_usage_error("train", "Move the data to a shorter path.", "the data's path is longer than a "
                                       "model file records (%zu bytes)", sizeof info.data - 1);
        }
        info.seed = (unsigned long)seed, info.batch = cfg.batch, info.lr = lr, info.clip = clip;
        info.ema_decay = ema, info.t_min = cfg.t_min, info.t_max = cfg.t_max, info.label_drop = cfg.label_drop;
        info.weighting = cfg.weighting;
    }
    cfg.threads = fmd_cli_threads("train", threads);
    fmd_trainer *tr;
    int st = g ? fmd_trainer_alloc(&cfg, g, net, &tr)
               : images.n ? fmd_trainer_alloc_sampler(&cfg, fmd_image_set_sampler, &images, net, &tr)
                          : fmd_trainer_alloc_sampler(&cfg, fmd_toy_sample, &toy, net, &tr);
    if (st != FMD_OK) {
        double units = 0;   /* a row's activations, pre-activations and their gradients, about 3 per unit */
        for (size_t l = 0; l <= net->nlayers; l++)
            units += (double)net->dims[l];
        fmd_cli_out_of_memory("train", "the training workspace (the batch's activations and gradients, Adam's state)",
                              (double)fmd_dtype_size(net->cfg.dtype) * (4.0 * (double)net->nparams + 3.0 * units * (double)cfg.batch));
        fmd_mlp_free(net);
        fmd_gmm_free(g);
        fmd_image_set_free(&images);
        return 1;
    }
    if (resume) {
        fmd_mlp *scratch;
        if (fmd_checkpoint_load(resume, &scratch, &info, tr, why, sizeof why) != FMD_OK) {
            fprintf(stderr, "fmd train: error: %s: %s\n", resume, why);
            return 2;
        }
        fmd_mlp_free(scratch);
    }
    fmd_cli_catch_stop();   /* Ctrl-C and SIGTERM: stop after the current step and save it */
    const int tty = isatty(2);
    const unsigned long total = (unsigned long)steps;
    double smooth = NAN, t0 = fmd_cli_now(), last_draw = 0.0;
    fmd_cli_rate_window window = {{0}, {0}, 0, 0, 0.0};
    unsigned long next_line = tr->step;
    fmd_cli_window_rate(&window, 0.0, tr->step);   /* the window starts here */
    int rc = 0;
    /* the loss history (--log): written whole at the end, like every output */
    fmd_atomic_file logf = {0};
    /* 1000 fixed points for the exact FM loss: Thm 18's L_FM, against
     * chapter 3's exact marginal field (cfm on a mixture) */
    fmd_loss_batch fixed = {0};
    double *fixed_u = NULL;
    fmd_mlp_workspace *fixed_ws = NULL;
    if (log_path) {
        if (fmd_atomic_open(log_path, &logf) != FMD_OK) {
            fprintf(stderr, "fmd train: error: cannot create %s\n", log_path);
            fmd_trainer_free(tr);
            fmd_mlp_free(net);
            fmd_gmm_free(g);
            fmd_image_set_free(&images);
            return 1;
        }
        fprintf(logf.fp, "step\tloss\texact_fm_loss\tlr\tseconds\n");
        if (g && cfg.objective == FMD_LOSS_CFM) {
            gsl_rng *r;
            fmd_rng_alloc(cfg.seed, 0x10feULL, &r);
            fixed_u = malloc(1000 * g->d * sizeof(double));
            if (!fixed_u || fmd_loss_batch_draw(g, &cfg.schedule, 1000, cfg.t_min, cfg.t_max, r, &fixed) != FMD_OK ||
                fmd_loss_target(FMD_LOSS_FM, g, &cfg.schedule, &fixed, fixed_u) != FMD_OK ||
                fmd_mlp_workspace_alloc(net, 1000, &fixed_ws) != FMD_OK) {
                free(fixed_u);
                fixed_u = NULL;
            }
            gsl_rng_free(r);
        }
    }
    while (tr->step < total && !fmd_cli_stop_requested()) {
        double loss;
        if (fmd_train_step(tr, &loss) != FMD_OK) {
            fprintf(stderr, "\nfmd train: error: step %lu failed (a non-finite target or loss)\n", tr->step + 1);
            rc = 1;
            break;
        }
        smooth = isnan(smooth) ? loss : 0.98 * smooth + 0.02 * loss;
        double el = fmd_cli_now() - t0, rate = fmd_cli_window_rate(&window, el, tr->step);
        if (logf.fp) {
            fprintf(logf.fp, "%lu\t%.9g\t", tr->step, loss);
            double fm, fm_se;
            if (fixed_u && (tr->step % 100 == 0 || tr->step == total) &&
                fmd_loss_mlp(net, fixed_ws, &fixed, fixed_u, &fm, &fm_se, NULL) == FMD_OK)
                fprintf(logf.fp, "%.9g", fm);
            fprintf(logf.fp, "\t%.6g\t%.3f\n", cfg.lr, el);
        }
        if (save_every > 0 && tr->step % (unsigned long)save_every == 0 && tr->step < total) {
            info.steps = tr->step;
            info.target_steps = total;
            if (fmd_checkpoint_save(out_path, net, tr, &info) != FMD_OK) {
                fprintf(stderr, "\nfmd train: error: cannot write %s at step %lu\n", out_path, tr->step);
                rc = 1;
                break;
            }
        }
        if (quiet)
            continue;
        if (tty ? (el - last_draw > 0.1 || tr->step == total) : (tr->step >= next_line || tr->step == total)) {
            fmd_cli_progress(tty, tr->step, total, smooth, rate, tr->step == total);
            last_draw = el;
            next_line = tr->step + (total / 20 ? total / 20 : 1);
        }
    }
    info.steps = tr->step;
    info.target_steps = total;
    if (fmd_checkpoint_save(out_path, net, tr, &info) != FMD_OK) {
        fprintf(stderr, "fmd train: error: cannot write %s\n", out_path);
        rc = 1;
    } else if (fmd_cli_stop_requested()) {
        fprintf(stderr, "\nfmd train: interrupted; saved step %lu to %s (continue with --resume %s)\n",
                tr->step, out_path, out_path);
        rc = 130;
    }
    if (logf.fp && fmd_atomic_commit(&logf) != FMD_OK) {
        fprintf(stderr, "fmd train: error: cannot write the log %s\n", log_path);
        rc = rc ? rc : 1;
    }
    fmd_loss_batch_free(&fixed);
    free(fixed_u);
    fmd_mlp_workspace_free(fixed_ws);
    fmd_trainer_free(tr);
    fmd_mlp_free(net);
    fmd_gmm_free(g);
    fmd_image_set_free(&images);
    return rc;
}
