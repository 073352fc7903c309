#!/bin/sh
# replant.sh -- plant each bug of verify/planted_bugs.tsv in turn, rebuild the
# suite, and check that its tests fail; every file is restored after. Run
# from the repository root after `make`: sh verify/replant.sh
# (about half a minute a bug). Exit 1 if a planted bug survives.
set -u
fail=0
tab=$(printf '\t')
grep -v '^#' verify/planted_bugs.tsv | while IFS="$tab" read -r file expr tests what; do
    [ -n "$file" ] || continue
    cp "$file" "$file.replant"
    sed -i "$expr" "$file"
    if cmp -s "$file" "$file.replant"; then
        echo "replant: the expression for $file no longer applies ($what)"; fail=1
    elif ! make -s build/fmd-verify >/dev/null 2>&1; then
        echo "replant: $file does not build with the bug planted ($what)"; fail=1
    elif FMD_THREADS=1 FMD_BIN=build/fmd build/fmd-verify --filter "$tests" >/dev/null 2>&1; then
        echo "replant: SURVIVED: $what ($file; $tests passed)"; fail=1
    else
        echo "replant: caught: $what"
    fi
    mv "$file.replant" "$file"
    touch "$file"   # newer than the objects built with the bug, so make rebuilds them
    [ $fail -eq 0 ] || exit 1
done
status=$?
make -s build/fmd-verify >/dev/null 2>&1
exit $status
