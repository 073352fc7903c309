#!/bin/sh
# check_install.sh -- fmd installs as a C library: `make install` into a
# temporary DESTDIR, then a program from outside the tree
# (verify/install/outside.c), compiled with nothing but
#     pkg-config --cflags --libs fmd
# against that tree, once linked to libfmd.so and once to libfmd.a
# (pkg-config --static), must compute the exact field of a mixture with the
# same digits as `fmd field`. Also: the shared library exports only the
# fmd_ API and has its soname; every man page renders, and carries every
# line of the --help text it was made from. Exit 1 naming what failed.
#     sh verify/check_install.sh BUILD_DIR
set -u
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_install: $*"; exit 1; }

make -s --no-print-directory _install BUILD="$build" DESTDIR="$tmp/root" PREFIX=/usr/local > "$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "make install DESTDIR=$tmp/root failed"; }
prefix=$tmp/root/usr/local
for f in bin/fmd lib/libfmd.a lib/libfmd.so lib/pkgconfig/fmd.pc include/fmd/fmd.h share/man/man1/fmd.1; do
    [ -e "$prefix/$f" ] || fail "make install did not install $f"
done

# pkg-config reads the staged fmd.pc; PKG_CONFIG_SYSROOT_DIR puts the
# staging root before its -I and -L paths, as for any DESTDIR tree.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
pkg-config --exists fmd || fail "pkg-config does not find fmd in the staged tree"
cp verify/install/outside.c "$tmp/"   # compiled away from src/: only the installed headers can be found
cd "$tmp" || fail "cannot enter $tmp"
cc -std=c11 -Wall -Werror -o outside_shared outside.c $(pkg-config --cflags --libs fmd) ||
    fail "the outside program does not compile against the installed headers and libfmd.so"
# libfmd.a inside the program, its dependencies shared: pkg-config --static
# names them (Libs.private, Requires.private); Debian ships SLEEF shared only.
cc -std=c11 -Wall -Werror -o outside_static outside.c $(pkg-config --cflags fmd) \
    $(pkg-config --static --libs fmd | sed 's/-lfmd /-Wl,-Bstatic -lfmd -Wl,-Bdynamic /') ||
    fail "the outside program does not link with libfmd.a and pkg-config --static --libs fmd"
# The README's ten-line example, as a reader would paste it.
sed -n '/^<!-- example: compiled and run by verify\/check_install.sh -->$/,/^```$/p' "$OLDPWD/README.md" |
    sed '1,2d;$d' > readme_example.c
[ -s readme_example.c ] || fail "README.md has no example marked for this check"
cc -std=c11 -Wall -Werror -o readme_example readme_example.c $(pkg-config --cflags --libs fmd) ||
    fail "the README's example does not compile against the installed library"
cd - > /dev/null || exit 1
readelf -d "$tmp/outside_shared" | grep -q 'NEEDED.*\[libfmd.so.[0-9]*\]' || fail "outside_shared does not need libfmd.so"
readelf -d "$tmp/outside_static" | grep -q 'libfmd' && fail "outside_static still needs libfmd.so"
soname=$(readelf -d "$prefix"/lib/libfmd.so | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ -e "$prefix/lib/$soname" ] || fail "the soname $soname is not installed beside libfmd.so"
case "$soname" in libfmd.so.[0-9]*) ;; *) fail "the soname is '$soname', not libfmd.so.MAJOR" ;; esac

# Only the API is exported: fmd_ names, and of those only what the
# installed headers declare (the vector-math variants stay inside).
nm -D --defined-only "$prefix/lib/libfmd.so" | awk '{print $3}' > "$tmp/exported"
grep -v '^fmd_' "$tmp/exported" | head -3 | while read -r s; do echo "check_install: libfmd.so exports $s, not an fmd_ name"; done
grep -qv '^fmd_' "$tmp/exported" && exit 1
grep -q '^fmd_vexp_avx2$' "$tmp/exported" && fail "libfmd.so exports fmd_vexp_avx2, an internal"
grep -q '^fmd_marginal_eval$' "$tmp/exported" || fail "libfmd.so does not export fmd_marginal_eval"

# The same field as `fmd field`, to every printed digit, at three times
# (t = 0 and t = 1 are the edges of the path) and three points.
gmm=chapters/03-constructing-a-training-target/five_modes.gmm
for t in 0 0.37 1; do
    for pt in "0.5 -1.25" "3 2" "-7.5 0.125"; do
        want=$(echo "$pt" | "$prefix/bin/fmd" field --gmm "$gmm" --schedule condot --t "$t" | grep -v '^#')
        [ -n "$want" ] || fail "fmd field printed nothing at t = $t, x = ($pt)"
        for kind in shared static; do
            got=$(LD_LIBRARY_PATH="$prefix/lib" "$tmp/outside_$kind" "$gmm" condot "$t" $pt) ||
                fail "outside_$kind failed at t = $t, x = ($pt)"
            [ "$got" = "$want" ] || fail "at t = $t, x = ($pt): outside_$kind prints
$got
but fmd field prints
$want"
        done
    done
done

# The README's example prints u_t(x) of the mixture at t = 0.5, x = (0.5, -1.25):
# fmd field's u columns, printed with %g.
want=$(echo "0.5 -1.25" | "$prefix/bin/fmd" field --gmm "$gmm" --schedule condot --t 0.5 |
       awk '!/^#/ {printf "u = (%g, %g)", $4, $5}')
got=$(LD_LIBRARY_PATH="$prefix/lib" "$tmp/readme_example") || fail "the README's example failed"
[ "$got" = "$want" ] || fail "the README's example prints '$got'; fmd field gives '$want'"

# The Python binding, installed beside the library, imports from the
# staged tree and finds the staged libfmd (not the build tree's), and its
# exact field is fmd field's to every printed digit.
pydir=$(ls -d "$prefix"/lib/python3*/dist-packages 2>/dev/null | head -1)
[ -n "$pydir" ] && [ -f "$pydir/fmd/__init__.py" ] || fail "make install did not install the Python package"
py=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )
got=$(cd "$tmp" && env -u FMD_LIB PYTHONPATH="$pydir" "$py" -c '
import sys, numpy as np, fmd
assert fmd.LIBRARY_PATH.startswith(sys.argv[1]), fmd.LIBRARY_PATH
m = fmd.Mixture.from_file(sys.argv[2]).marginal(np.array([[0.5, -1.25]]), 0.37, "condot")
print("\t".join("%.17g" % v for v in [m.log_p[0], *m.score[0], *m.field[0], *m.posterior_mean[0]]))
' "$tmp/root" "$OLDPWD/$gmm") || fail "the installed Python package does not import and find the installed libfmd"
want=$(echo "0.5 -1.25" | "$prefix/bin/fmd" field --gmm "$gmm" --schedule condot --t 0.37 | grep -v '^#')
[ "$got" = "$want" ] || fail "the installed Python binding prints $got; fmd field $want"

# Every man page renders; every line of the --help it came from is on it.
pages=0
for page in "$prefix"/share/man/man1/*.1; do
    name=$(basename "$page" .1)
    MANWIDTH=200 LC_ALL=C.UTF-8 man -l "$page" > "$tmp/page.txt" 2> "$tmp/page.err" || fail "man -l $page fails"
    [ -s "$tmp/page.err" ] && { cat "$tmp/page.err"; fail "man -l $page warns"; }
    if [ "$name" = fmd ]; then "$prefix/bin/fmd" --help > "$tmp/help.txt"
    else "$prefix/bin/fmd" "${name#fmd-}" --help > "$tmp/help.txt"; fi
    python3 - "$tmp/help.txt" "$tmp/page.txt" "$page" <<'PY' || exit 1
import sys
help_lines = [l.strip() for l in open(sys.argv[1]) if l.strip()]
page = {l.strip() for l in open(sys.argv[2])}
page_text = open(sys.argv[2]).read()
missing = [l for l in help_lines if l not in page and l.replace("usage: ", "", 1) not in page
           and not (l.startswith("fmd -- ") and l.rstrip(".").replace("fmd -- ", "fmd - ") in page_text)]
if missing:
    print(f"check_install: {sys.argv[3]} lacks {len(missing)} lines of its --help, e.g.: {missing[0]!r}")
    sys.exit(1)
PY
    pages=$((pages + 1))
done
commands=$("$prefix/bin/fmd" --help | sed -n '/^Commands:/,/^$/p' | grep -c '^  [a-z]')
[ "$pages" -eq "$commands" ] || fail "$pages man pages for $commands commands (fmd.1 and one per command but help)"
make -s --no-print-directory uninstall DESTDIR="$tmp/root" PREFIX=/usr/local > /dev/null 2>&1 || fail "make uninstall failed"
left=$(find "$tmp/root" -type f | head -3)
[ -z "$left" ] || fail "make uninstall left $left"
echo "check_install: make install into a DESTDIR; the README's example and an outside program built by pkg-config against libfmd.so and libfmd.a agrees with fmd field to every digit; only the API exported (soname $soname); $pages man pages render their --help; the installed Python package finds its library; uninstall removes it all"
