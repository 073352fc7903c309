#!/bin/sh
# replant_tour.sh -- the tour must catch a result that stops being
# reproducible. Plant each change below in turn (a seed or a step count read
# from the wall clock: the processor's time-stamp counter), rebuild, run the
# tour on the chapter it touches (verify/tour.py --only NN) and check that it
# FAILS -- on an exact figure's data (figures/exact_data.sha256) or on a
# number its text quotes exactly; every file is restored after, and the
# kept files the planted runs made are removed. Run from the repository root
# after a passing `make tour`: sh verify/replant_tour.sh [--quick]
# (about 9 minutes on 2 cores; --quick skips chapter 5's, which retrains).
# Exit 1 if a planted change survives.
set -u
quick=0
[ "${1:-}" = "--quick" ] && quick=1
tab=$(printf '\t')
fail=0
data=build/replant/data
# chapter	file	sed expression	what the change is
plants="02${tab}chapters/02-flow-and-diffusion-models/main.c${tab}s/fmd_brownian_paths(2, n, 1, ts, nt, W);/fmd_brownian_paths(2 + __builtin_ia32_rdtsc() % 1000, n, 1, ts, nt, W);/${tab}Brownian paths seeded from the clock
06${tab}chapters/06-the-sde-view/main.c${tab}s/fmd_rng_alloc(6, 0, \&r);/fmd_rng_alloc(6 + __builtin_ia32_rdtsc() % 1000, 0, \&r);/${tab}the chapter's random stream seeded from the clock
05${tab}chapters/05-conditional-generation/unet_part.c${tab}s/at\[i\] = (unsigned long)(units\[i\] \* UNET_UNIT);/at[i] = (unsigned long)(units[i] * UNET_UNIT) + __builtin_ia32_rdtsc() % 16;/${tab}the U-Net's equal-time snapshots taken at steps the clock chooses"
printf '%s\n' "$plants" > build/replant_plants.tsv
while IFS="$tab" read -r chapter file expr what; do
    [ -n "$file" ] || continue
    if [ $quick -eq 1 ] && [ "$chapter" = 05 ]; then echo "replant_tour: skipped (--quick): $what"; continue; fi
    cp "$file" "$file.replant"
    sed -i "$expr" "$file"
    if cmp -s "$file" "$file.replant"; then
        echo "replant_tour: the expression for $file no longer applies ($what)"; fail=1
    elif ! make -s _all >/dev/null 2>&1; then
        echo "replant_tour: $file does not build with the change planted ($what)"; fail=1
    else
        mkdir -p "$data"
        # the planted build's own data directory: the tour's kept files stay as they were
        cp -p build/data/fmnist_lowrank32.gmm "$data/" 2>/dev/null
        mkdir -p build/replant/chapters
        cp build/chapters/* build/replant/chapters/
        cp build/fmd build/replant/fmd
        if python3 verify/tour.py --only "$chapter" build/replant > build/replant/tour_$chapter.log 2>&1; then
            echo "replant_tour: SURVIVED: $what ($file; the tour of chapter $chapter passed)"; fail=1
        else
            why=$(grep -E 'tour: .*differs|check_numbers: .*(quotes|no row|no table)' build/replant/tour_$chapter.log | head -1 | cut -c1-160)
            if [ -n "$why" ]; then
                echo "replant_tour: caught: $what -- $why"
            else
                # a crash or a failed check is not the catch this script proves
                echo "replant_tour: the tour of chapter $chapter failed, but not on a changed result ($what):"
                tail -5 build/replant/tour_$chapter.log; fail=1
            fi
        fi
    fi
    mv "$file.replant" "$file"
    touch "$file"   # newer than the objects built with the change, so make rebuilds them
    [ $fail -eq 0 ] || break
done < build/replant_plants.tsv
rm -rf build/replant build/replant_plants.tsv
make -s _all >/dev/null 2>&1
exit $fail
