/* fuzz_safetensors.c -- libFuzzer target for the safetensors reader: any
 * bytes give a parsed file or a rejection with a reason, never a crash or an
 * out-of-bounds read (ASan). `make fuzz`; the suite replays the corpus. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "files/safetensors.h"
#include "base/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fmd_st_file f;
    char why[256] = "";
    if (fmd_st_parse(data, size, &f, why, sizeof why) == FMD_OK) {
        volatile double sink = 0.0;
        for (size_t i = 0; i < f.ntensors; i++)   /* every declared byte is readable */
            for (uint64_t b = f.tensors[i].begin; b < f.tensors[i].end; b++)
                sink += f.payload[b];
        (void)sink;
        fmd_st_checksum_ok(data, size, &f);
        fmd_st_free(&f);
    } else if (why[0] == '\0') {
        __builtin_trap();   /* every rejection must say why */
    }
    return 0;
}
