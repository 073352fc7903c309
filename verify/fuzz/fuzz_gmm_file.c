/* fuzz_gmm_file.c -- libFuzzer target for the mixture-file parser: any bytes
 * must give either a valid mixture or an error with a reason, never a crash,
 * a leak or undefined behaviour. Build and run with `make fuzz`; the suite
 * replays the corpus in verify/fuzz/corpus/gmm (verify/test_gmm_file.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fmd_gmm *g = NULL;
    fmd_parse_error err;
    int status = fmd_gmm_parse((const char *)data, size, "fuzz", &g, &err);
    if (status == FMD_OK) {
        double x[FMD_GMM_MAX_D] = {0}, lp;
        if (g->d <= FMD_GMM_MAX_D)
            fmd_gmm_log_density(g, 1, x, &lp);   /* a parsed mixture is usable */
        fmd_gmm_free(g);
    } else if (strlen(err.reason) == 0) {
        __builtin_trap();   /* every rejection must say why */
    }
    return 0;
}
