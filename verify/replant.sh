#!/bin/sh
# replant.sh -- plant each bug of verify/planted_bugs.tsv in turn, rebuild the
# suite, and check that its tests fail (Criterion tests by their filter, or
# a Python test file given as pytest:PATH); every file is restored after. Run
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
    elif ! make -s build/fmd-verify build/libfmd.a >/dev/null 2>&1; then
        echo "replant: $file does not build with the bug planted ($what)"; fail=1
    elif case "$tests" in pytest:*) true ;; *) false ;; esac; then
        # a Python test (verify/python), run against the library with the bug planted
        py=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )
        if FMD_THREADS=1 FMD_BIN=build/fmd PYTHONPATH=python "$py" -m pytest -q -p no:cacheprovider \
               "${tests#pytest:}" >/dev/null 2>&1; then
            echo "replant: SURVIVED: $what ($file; ${tests#pytest:} passed)"; fail=1
        else
            echo "replant: caught: $what"
        fi
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
make -s build/fmd-verify build/libfmd.a >/dev/null 2>&1
exit $status
