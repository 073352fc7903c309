/* fuzz_model_file.c -- libFuzzer target for the two model readers (the
 * MLP's, src/files/checkpoint.c, and the U-Net's, src/files/unet_checkpoint.c): any
 * bytes give a network or a rejection with a reason -- never a crash, an
 * out-of-bounds read (ASan) or an allocation the file's own tensors do not
 * account for. Files without fmd's checksum are read (allow_no_checksum),
 * as `--no-checksum` does, so mutations reach the metadata checks rather
 * than stopping at the checksum. `make fuzz`; the suite replays the corpus
 * and every change of a byte of its headers (verify/test_unet.c). */
#include <stddef.h>
#include <stdint.h>

#include "files/checkpoint.h"
#include "files/unet_checkpoint.h"
#include "base/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256] = "";
    fmd_run_info info;
    fmd_mlp *mlp;
    if (fmd_checkpoint_parse(data, size, &mlp, &info, NULL, 1, NULL, why, sizeof why) == FMD_OK)
        fmd_mlp_free(mlp);
    else if (why[0] == '\0')
        __builtin_trap();   /* every rejection must say why */
    for (int ema = 0; ema < 2; ema++) {
        fmd_unet *unet;
        why[0] = '\0';
        if (fmd_unet_checkpoint_parse(data, size, 1, ema, &unet, &info, NULL, why, sizeof why) == FMD_OK)
            fmd_unet_free(unet);
        else if (why[0] == '\0')
            __builtin_trap();
    }
    return 0;
}
