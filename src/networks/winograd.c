/* winograd.c -- Winograd's F(2 x 2, 3 x 3) convolution (winograd.h). */
#include "networks/winograd.h"
#include "base/matmul.h"
#include "base/status.h"
#include "base/vecmath.h"

#include <stdlib.h>
#include <string.h>

size_t fmd_winograd_chunk(size_t c_in, size_t c_out)
{
    const size_t c = c_in > c_out ? c_in : c_out, fixed = 32 * c_in * c_out + 33 * c;   /* U, dU, zeros, two tiles */
    if (c_in == 0 || c_out == 0 || fixed >= FMD_WINO_SCRATCH)
        return 0;
    return (FMD_WINO_SCRATCH - fixed) / (16 * (c_in + c_out));
}

const char *fmd_conv_method_name(fmd_conv_method m)
{
    return m == FMD_CONV_WINOGRAD ? "winograd" : "direct";
}

int fmd_conv_method_by_name(const char *name, fmd_conv_method *m)
{
    if (!name || !m)
        return FMD_EINVAL;
    if (strcmp(name, "direct") == 0)
        *m = FMD_CONV_DIRECT;
    else if (strcmp(name, "winograd") == 0)
        *m = FMD_CONV_WINOGRAD;
    else
        return FMD_EINVAL;
    return FMD_OK;
}

#define FMD_TYPED_F32 0
#include "networks/winograd_typed.c"
#define FMD_TYPED_F32 1
#include "networks/winograd_typed.c"
