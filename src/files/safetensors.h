/* safetensors.h -- the safetensors file layout, written and read strictly.
 *
 * Layout (as published by Hugging Face): 8 bytes, little-endian u64 N; N
 * bytes of UTF-8 JSON, an object whose keys are tensor names mapping to
 * {"dtype": ..., "shape": [...], "data_offsets": [begin, end]} plus an
 * optional "__metadata__" object of string values, padded with spaces; then
 * the raw little-endian tensor bytes, offsets relative to their start.
 * Promise: the reader checks every length and offset before use -- header
 * bounded (<= 100 MB) and inside the file, strict JSON, no duplicate names,
 * sizes overflow-checked, offsets contiguous from 0 and covering the payload
 * exactly -- and rejects anything else with a reason; it never reads out of
 * bounds, whatever the bytes (fuzzed: verify/fuzz/fuzz_safetensors.c).
 * dtypes F64 and F32 are accepted (what fmd writes: float64 models and
 * float32 ones); every other is refused by name. */
#ifndef FMD_SAFETENSORS_H
#define FMD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "base/dtype.h"

#define FMD_ST_MAX_HEADER (100u << 20)
#define FMD_ST_MAX_DIMS 8

typedef struct {
    char *name;
    fmd_dtype dtype;                      /* F64 or F32 */
    size_t ndim;
    uint64_t shape[FMD_ST_MAX_DIMS];
    uint64_t begin, end;                  /* byte offsets into the payload */
} fmd_st_tensor;

typedef struct {
    size_t ntensors;
    fmd_st_tensor *tensors;
    size_t nmeta;
    char **meta_key, **meta_value;
    const uint8_t *payload;               /* points into the caller's buffer */
    size_t payload_len;
} fmd_st_file;

/* Parse and validate len bytes; on failure fills why (a sentence) and
 * returns FMD_EINVAL (FMD_ENOMEM if memory ran out). */
int fmd_st_parse(const uint8_t *buf, size_t len, fmd_st_file *out, char *why, size_t why_len);
void fmd_st_free(fmd_st_file *f);
const fmd_st_tensor *fmd_st_find(const fmd_st_file *f, const char *name);
const char *fmd_st_meta(const fmd_st_file *f, const char *key);

/* One tensor to write: F64 or F32, row-major. */
typedef struct {
    const char *name;
    size_t ndim;
    uint64_t shape[FMD_ST_MAX_DIMS];
    const void *data;                     /* prod(shape) numbers of type dtype */
    fmd_dtype dtype;
} fmd_st_out;

/* Write tensors and metadata (key, value pairs; keys and values are plain
 * printable ASCII without '"' or '\\') to path atomically. The metadata also
 * gets "fmd_checksum_fnv1a64": FNV-1a 64 of the whole file read with those
 * 16 hex digits as '0's (see fmd_st_checksum_ok). */
int fmd_st_write(const char *path, const fmd_st_out *t, size_t nt, const char *const *meta,
                 size_t nmeta);

/* 1 if buf carries a valid fmd_checksum_fnv1a64, 0 otherwise. */
int fmd_st_checksum_ok(const uint8_t *buf, size_t len, const fmd_st_file *f);

#endif
