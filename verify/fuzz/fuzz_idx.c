/* fuzz_idx.c -- libFuzzer target for the IDX parser: any bytes give a parsed
 * file whose data lie inside the buffer, or a rejection with a reason; never
 * a crash or an out-of-bounds read (ASan). `make fuzz`; the suite replays the
 * corpus. */
#include <stddef.h>
#include <stdint.h>

#include "files/idx.h"
#include "base/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fmd_idx f;
    char why[256] = "";
    if (fmd_idx_parse(data, size, &f, why, sizeof why) == FMD_OK) {
        volatile unsigned sink = 0;
        for (size_t i = 0; i < f.count; i++)   /* every promised byte is readable */
            sink += f.data[i];
        (void)sink;
    } else if (why[0] == '\0') {
        __builtin_trap();   /* every rejection must say why */
    }
    return 0;
}
