#!/bin/sh
# check_refs.sh -- every code, test, figure and bench reference in the chapter
# texts, the README and the folders' READMEs must exist. A reference is written in backquotes as
#   `src/ode.c:fmd_ode_solve_grid`        a function (or symbol) in a file
#   `verify/test_ode.c:ode/fitted_order_matches_theory`   a Criterion test
#   `figures/flow_field.gp`               a file
# Exit 1, naming each broken reference, if any is missing.
set -u
status=0
count=0
refs=$(grep -oE '`(src|verify|chapters|figures|bench|python)/[A-Za-z0-9_./-]+(:[A-Za-z0-9_/]+)?`' chapters/README.md chapters/*/README.md README.md \
    src/README.md src/*/README.md verify/README.md bench/README.md 2>/dev/null)
for line in $refs; do
    where=${line%%:\`*}
    ref=$(printf '%s' "$line" | sed -e 's/^[^`]*`//' -e 's/`$//')
    file=${ref%%:*}
    name=""
    case "$ref" in *:*) name=${ref#*:} ;; esac
    count=$((count + 1))
    if [ ! -e "$file" ]; then
        echo "check_refs: $where cites $ref, but $file does not exist"; status=1; continue
    fi
    [ -z "$name" ] && continue
    case "$name" in
    */*)  # suite/test
        suite=${name%%/*}; test=${name#*/}
        if ! grep -Eq "(Test|ParameterizedTest)\((.*, *)?$suite, *$test[,)]" "$file"; then
            echo "check_refs: $where cites test $suite/$test, not found in $file"; status=1
        fi ;;
    *)
        if ! grep -Eq "(^|[^A-Za-z0-9_])$name([^A-Za-z0-9_]|$)" "$file"; then
            echo "check_refs: $where cites $name, not found in $file"; status=1
        fi ;;
    esac
done
if [ "$count" -eq 0 ]; then
    echo "check_refs: no references found in chapters/*/README.md"; exit 1
fi
[ $status -eq 0 ] && echo "check_refs: all $count references in the chapter texts and the READMEs exist"
exit $status
