/* model_file.h -- what fmd's model readers share (src/files/checkpoint.c for the
 * MLP, src/files/unet_checkpoint.c for the U-Net): read a safetensors file whole,
 * check its checksum, and take metadata values and tensors with every value
 * and shape checked, each failure a sentence in why. */
#ifndef FMD_MODEL_FILE_H
#define FMD_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>
#include "networks/adam.h"
#include "base/dtype.h"
#include "files/safetensors.h"

/* What a model file (either kind) says about its run (strings are
 * NUL-terminated). */
typedef struct {
    char objective[16];     /* cfm | dsm | ddpm | denoiser */
    char schedule[32];
    char data[256];         /* the mixture file or data set name */
    unsigned long steps;    /* steps completed */
    unsigned long target_steps; /* steps the run was asked for (what --resume continues to) */
    unsigned long seed;
    size_t batch;
    double lr, clip, ema_decay, t_min, t_max;
    double label_drop;      /* classifier-free guidance training (0 without labels) */
    int weighting;          /* fmd_weighting of the loss (UNIFORM unless recorded) */
    int time_law;           /* fmd_time_law of t (UNIFORM unless recorded) */
    double p_mean, p_std;   /* LOGNORMAL's ln sigma ~ N(p_mean, p_std^2) */
} fmd_run_info;

/* The metadata "format" of each kind of model file. */
#define FMD_MLP_FORMAT "fmd-mlp-1"
#define FMD_UNET_FORMAT "fmd-unet-1"

/* Read path whole into *buf (*size bytes; the caller frees *buf whatever
 * the status). */
int fmd_model_file_slurp(const char *path, uint8_t **buf, size_t *size, char *why, size_t why_len);

/* Parse a model file's bytes into f (which points into data) and check
 * fmd's checksum as fmd_model_file_read says; fmd_st_free(f) after. */
int fmd_model_bytes_parse(const uint8_t *data, size_t len, int allow_no_checksum, fmd_st_file *f, int *has_checksum,
                          char *why, size_t why_len);

/* fmd_model_bytes_parse, then the metadata "format" must be `format` (one
 * of the two below): a file of fmd's other kind is refused by name. */
int fmd_model_bytes_open(const uint8_t *data, size_t len, int allow_no_checksum, const char *format, fmd_st_file *f,
                         int *has_checksum, char *why, size_t why_len);

/* Read path whole into *buf and parse it into f, checking fmd's checksum
 * (a file without one is refused unless allow_no_checksum; one that is
 * present must match). *has_checksum (may be NULL) says whether it had one.
 * Whatever the status, the caller frees *buf and fmd_st_free(f). */
int fmd_model_file_read(const char *path, int allow_no_checksum, uint8_t **buf, fmd_st_file *f, int *has_checksum,
                        char *why, size_t why_len);

/* Metadata values: a whole number in [lo, hi], a number, a string of fewer than cap bytes. */
int fmd_meta_uint(const fmd_st_file *f, const char *key, unsigned long lo, unsigned long hi, unsigned long *out,
                  char *why, size_t n);
int fmd_meta_double(const fmd_st_file *f, const char *key, double *out, char *why, size_t n);
int fmd_meta_string(const fmd_st_file *f, const char *key, char *out, size_t cap, char *why, size_t n);

/* Tensor `name` must be present with exactly this shape and type (checked
 * before a reader allocates what it will copy into). */
int fmd_check_tensor(const fmd_st_file *f, const char *name, size_t ndim, const uint64_t *shape, fmd_dtype ty,
                     char *why, size_t n);

/* Copy tensor `name`, which must have exactly this shape and type, into dst. */
int fmd_take_tensor(const fmd_st_file *f, const char *name, size_t ndim, const uint64_t *shape, fmd_dtype ty,
                    void *dst, char *why, size_t n);

/* ---- a training run's metadata, the same in every kind of model file -------- */

/* The run's pairs: objective, schedule, data, steps, target_steps, seed,
 * batch, lr, clip, ema_decay, t_min, t_max, label_drop, adam_step. */
enum { FMD_RUN_META_PAIRS = 14 };
typedef struct {
    char v[11][32];   /* the numbers, as text */
} fmd_run_meta_text;

/* meta[0 .. 2 FMD_RUN_META_PAIRS) = key, value, ... from info (the
 * numbers' text in *text); FMD_EINVAL if info->data holds '"', '\\' or a
 * control character (the writer does not escape). */
int fmd_run_meta(const fmd_run_info *info, unsigned long adam_step, fmd_run_meta_text *text, const char **meta);

/* Read them back into info and *adam_step, each checked (label_drop, absent
 * from files written before chapter 5, reads as 0). */
int fmd_meta_run_info(const fmd_st_file *f, fmd_run_info *info, unsigned long *adam_step, char *why, size_t n);

/* metadata "dtype": f64 (also when absent: files before float32 models) or f32. */
int fmd_meta_dtype(const fmd_st_file *f, fmd_dtype *out, char *why, size_t n);

/* ---- a training run's state, the same in every kind of model file ---------- */

/* Append the state's tensors to t (from *nt on): adam.m and adam.v (opt's
 * moments) and, if ema is not NULL, ema -- nparams numbers of type ty each. */
void fmd_state_tensors(size_t nparams, fmd_dtype ty, const fmd_adam *opt, const void *ema, fmd_st_out *t, size_t *nt);

/* How many of those tensors f holds (0, 1, 2 or 3), and which (either
 * pointer may be NULL). */
size_t fmd_state_tensors_in(const fmd_st_file *f, int *has_adam, int *has_ema);

/* Take them back: opt's moments if f has them (opt->step = adam_step),
 * and ema if f has one and ema is not NULL. */
int fmd_take_state(const fmd_st_file *f, size_t nparams, fmd_dtype ty, unsigned long adam_step, fmd_adam *opt,
                   void *ema, char *why, size_t n);

#endif
