/* attention.c -- single-head self-attention over an image's pixels (attention.h). */
#include "networks/attention.h"
#include "networks/groupnorm.h"
#include "base/matmul.h"
#include "base/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fmd_attention_layout(size_t c, size_t groups, size_t *next, fmd_attention *at)
{
    if (!next || !at || c == 0 || groups == 0 || c % groups != 0)
        return FMD_EINVAL;
    size_t o = *next;
    at->c = c, at->groups = groups;
    at->g = o, o += c;
    at->b = o, o += c;
    at->wqkv = o, o += 3 * c * c;
    at->bqkv = o, o += 3 * c;
    at->wo = o, o += c * c;
    at->bo = o, o += c;
    at->nparams = o - *next;
    *next = o;
    return FMD_OK;
}

void fmd_attention_init(const fmd_attention *at, double *params, const double *u)
{
    const size_t c = at->c;
    const double a = 1.0 / sqrt((double)c);
    for (size_t k = 0; k < c; k++)
        params[at->g + k] = 1.0, params[at->b + k] = 0.0;
    for (size_t i = at->wqkv; i < at->g + at->nparams; i++)   /* W_qkv, b_qkv, W_o, b_o */
        params[i] = a * (2.0 * u[i] - 1.0);
}

#define FMD_TYPED_F32 0
#include "networks/attention_typed.c"
#define FMD_TYPED_F32 1
#include "networks/attention_typed.c"
