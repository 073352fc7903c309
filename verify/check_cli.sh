#!/bin/sh
# check_cli.sh FMD -- the command's contract: help and version exit 0;
# an unknown command or option, or a stray argument, exits 2 with a message.
set -u
fmd=$1
fail=0
expect() {   # expect STATUS ARGS...
    want=$1; shift
    "$fmd" "$@" >/tmp/fmd-cli.$$ 2>&1
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "check_cli: 'fmd $*' exited $got, expected $want:"; cat /tmp/fmd-cli.$$; fail=1
    elif [ "$want" -eq 2 ] && ! grep -q "error" /tmp/fmd-cli.$$; then
        echo "check_cli: 'fmd $*' exited 2 without saying what is wrong"; fail=1
    fi
}
expect 0 --help
expect 0 help
expect 0 help steppers
expect 0 help --help
expect 0 version
expect 0 --version
expect 0 steppers
expect 2
expect 2 frobnicate
expect 2 --frobnicate
expect 2 version extra
expect 2 help frobnicate
# the default thread count follows the CPUs the process may use (affinity)
if command -v taskset >/dev/null 2>&1; then
    got=$(env -u FMD_THREADS taskset -c 0 "$fmd" version | sed -n 's/^threads: \([0-9]*\).*/\1/p')
    if [ "$got" != 1 ]; then
        echo "check_cli: under 'taskset -c 0', fmd version says threads: '$got', expected 1"; fail=1
    fi
fi
got=$(FMD_THREADS=3 "$fmd" version | sed -n 's/^threads: \([0-9]*\).*/\1/p')
[ "$got" = 3 ] || { echo "check_cli: FMD_THREADS=3 gives threads: '$got'"; fail=1; }
rm -f /tmp/fmd-cli.$$
[ $fail -eq 0 ] && echo "check_cli: fmd's help, version and error exits behave"
exit $fail
