#!/bin/sh
# check_cli_errors.sh FMD -- the command fails loudly and never crashes: one
# case or more for each class of defect (issue 13). Each case states the exit
# status it expects and a phrase its message must contain; a case fails on a
# crash (status >= 128), a silent failure (no message) or NaN printed as a
# result.
set -u
fmd=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(pwd)
G=$root/chapters/03-constructing-a-training-target/five_modes.gmm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
# expect STATUS 'PHRASE' ARGS... (stdin from $IN if set, stdout to $OUT if set)
expect() {
    want=$1; phrase=$2; shift 2
    n=$((n + 1))
    "$fmd" "$@" <"${IN:-/dev/null}" >"${OUT:-$tmp/out}" 2>"$tmp/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "check_cli_errors: 'fmd $*' exited $got, expected $want:"; cat "$tmp/err"; fail=1
    elif [ -n "$phrase" ] && ! grep -qF -- "$phrase" "$tmp/err"; then
        echo "check_cli_errors: 'fmd $*' did not say '$phrase':"; cat "$tmp/err"; fail=1
    elif [ "$want" -ne 0 ] && [ ! -s "$tmp/err" ]; then
        echo "check_cli_errors: 'fmd $*' failed silently"; fail=1
    elif [ "$want" -eq 0 ] && [ -z "${OUT:-}" ] && grep -qi 'nan' "$tmp/out"; then
        echo "check_cli_errors: 'fmd $*' printed NaN and exited 0"; fail=1
    fi
}
cd "$tmp"
# models for the cases: a flow model on the mixture, one on moons, a dsm model
"$fmd" train --gmm "$G" --out m.st --steps 4 --batch 16 --hidden 8 >/dev/null 2>&1 || { echo "check_cli_errors: cannot train"; exit 1; }
"$fmd" train --data moons --out moons.st --steps 2 --batch 16 --hidden 8 >/dev/null 2>&1
"$fmd" train --gmm "$G" --objective dsm --out dsm.st --steps 4 --batch 16 --hidden 8 >/dev/null 2>&1
printf '0.1 0.2\n0.3 -1\n' > pts.txt

# 1. allocation failure: a message naming what and how much, exit 1 (under a 2 GB address-space limit;
# skipped with FMD_NO_ULIMIT=1, as make sanitize sets: AddressSanitizer cannot start under ulimit -v)
if [ -z "${FMD_NO_ULIMIT:-}" ]; then
n=$((n + 1))
( ulimit -v 2000000; "$fmd" train --gmm "$G" --hidden 65536,65536 --steps 1 --batch 2 --out big.st ) 2>"$tmp/err" >/dev/null
got=$?
if [ "$got" -ne 1 ] || ! grep -q "out of memory: the network's parameters needs" "$tmp/err"; then
    echo "check_cli_errors: a network too large to allocate: exit $got:"; cat "$tmp/err"; fail=1
fi
n=$((n + 1))
( ulimit -v 2000000; "$fmd" sample --model m.st -n 100000000 ) 2>"$tmp/err" >/dev/null
got=$?
if [ "$got" -ne 1 ] || ! grep -q "out of memory" "$tmp/err"; then
    echo "check_cli_errors: 1e8 samples under a 2 GB limit: exit $got:"; cat "$tmp/err"; fail=1
fi
fi

# 2. output that cannot be written: a message and exit 1, from every command that prints results
if [ -w /dev/full ]; then
    OUT=/dev/full expect 1 "writing standard output failed" sample --model m.st -n 1000
    IN=pts.txt OUT=/dev/full expect 1 "writing standard output failed" field --gmm "$G" --schedule cosine --t 0.5
    IN=pts.txt OUT=/dev/full expect 1 "writing standard output failed" likelihood --gmm "$G" --schedule condot
    OUT=/dev/full expect 1 "writing standard output failed" eval --model m.st --gmm "$G" -n 100 --steps 5
fi

# 3. resume that means it
expect 2 "--lr would change the run" train --resume m.st --lr 0.1
expect 2 "--hidden would change the run" train --resume m.st --hidden 16
expect 2 "not on" train --resume m.st --data moons
expect 2 "has done 4 steps" train --resume m.st --steps 2
cp m.st before.st
expect 0 "nothing to do" train --resume m.st --steps 4
cmp -s m.st before.st || { echo "check_cli_errors: a resume with nothing to do rewrote the model"; fail=1; }
mkdir -p elsewhere && cd elsewhere
expect 0 "" train --resume ../m.st --steps 6 --out ../m6.st   # the data path was stored resolved
cd "$tmp"

# 4. numbers: the message names the option; fractions refused where a count is meant
expect 2 "--steps '-1'" train --gmm "$G" --out x.st --steps -1
expect 2 "not a fraction" train --gmm "$G" --out x.st --steps 1.5
expect 2 "-n '2.9'" sample --model m.st -n 2.9
expect 2 "--seed '0.5'" sample --model m.st --seed 0.5
expect 2 "--steps '-3'" train --gmm "$G" --out x.st --steps=-3
expect 2 "--t needs a value" field --gmm "$G" --schedule cosine --t

# 5. never NaN with exit 0: a result is finite and right, or the point is refused with its line
printf '1e154 0\n' > huge.txt
IN=huge.txt expect 0 "" field --gmm "$G" --schedule cosine --t 0.5
printf '0 0\n1e200 0\n' > huger.txt
IN=huger.txt expect 2 "<stdin>:2: a coordinate of size 1e+200 is too large" field --gmm "$G" --schedule cosine --t 0.5
IN=pts.txt expect 2 "infinite derivative" field --gmm "$G" --schedule poly:0.5 --t 0

# 6. messages that say what is wrong
expect 2 "poly:N needs a number N" field --gmm "$G" --schedule poly:0 --t 0.5
expect 2 "missing.gmm: cannot open" field --gmm missing.gmm --schedule cosine --t 0.5
grep -q "missing.gmm:0:" "$tmp/err" && { echo "check_cli_errors: a missing file is reported at line 0"; fail=1; }
expect 2 "not a safetensors file" sample --model "$G"
expect 2 "is a directory" sample --model elsewhere
mkdir -p adir
expect 2 "is a directory" field --gmm "$G" --schedule cosine --t 0.5 --points adir
printf '\001\002\003 binary\n' > bin.dat
expect 2 "not text" field --gmm "$G" --schedule cosine --t 0.5 --points bin.dat
expect 2 "bad --hidden" train --gmm "$G" --out x.st --hidden 0
python3 - <<'PY'
import json, struct
h = json.dumps({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}).encode()
open("foreign.st", "wb").write(struct.pack("<Q", len(h)) + h + b"\0" * 8)
PY
expect 2 "without fmd's checksum" sample --model foreign.st
"$fmd" train --help > help.txt
grep -q '%%' help.txt && { echo "check_cli_errors: train --help prints a literal %%"; fail=1; }
"$fmd" likelihood --help | grep -q "poly:N" || { echo "check_cli_errors: likelihood --help does not list its schedules"; fail=1; }

# 7. options that would be ignored are refused
expect 2 "--guidance has no effect without --class" sample --model m.st --guidance 2
expect 2 "--label-drop has no effect without --labels" train --gmm "$G" --out x.st --label-drop 0.2
IN=pts.txt expect 2 "--steps has no effect on the adaptive solver" likelihood --gmm "$G" --schedule condot --steps 10
expect 2 "--precondition edm is for the score objectives" train --gmm "$G" --out x.st --precondition edm
expect 2 "unknown --precondition 'karras'" train --gmm "$G" --out x.st --objective ddpm --precondition karras
expect 2 "--weighting beta2 is for --objective dsm" train --gmm "$G" --out x.st --objective ddpm --weighting beta2
expect 2 "would change the run saved in dsm.st" train --resume dsm.st --weighting uniform
expect 2 "the two-headed network (cfm+dsm) takes no labels" train --gmm "$G" --out x.st --objective cfm+dsm --labels
expect 2 "--guidance has no effect without --class" field --gmm "$G" --schedule condot --t 0.5 --guidance 2
expect 2 "runs Karras's levels" sample --model m.st --solver heun-edm --t0 0.1
expect 0 "" sample --gmm "$G" --schedule condot --solver dpmpp-3m --steps 10 -n 5
expect 0 "" sample --gmm "$G" --schedule condot --solver dpmpp-3m-corrected --steps 10 -n 5
# the U-Net's trainer (issue 16): bad architecture, non-image data, a non-square row, and a run that trains, resumes and
# is refused by name by the MLP's readers
expect 2 "--arch 'resnet': mlp (the default) or unet" train --arch resnet --gmm "$G" --out x.st
expect 2 "--data moons is not an image set" train --arch unet --data moons --out x.st
printf '0.1 0.2 0.3\n0.4 0.5 0.6\n' > rows3.txt
expect 2 "not a square of a side divisible by 4" train --arch unet --data-file rows3.txt --out x.st
expect 2 "--mult 1,x: not a list of channel multipliers" train --arch unet --data-file rows3.txt --mult 1,x --out x.st
awk 'BEGIN { srand(3); for (i = 0; i < 40; i++) { s = ""; for (j = 0; j < 64; j++) s = s sprintf("%.3f ", rand() - 0.5); print s (i % 2) } }' > img8.txt
expect 0 "" train --arch unet --data-file img8.txt --labels --channels 4 --batch 8 --steps 2 --quiet --out u.st
expect 0 "" train --resume u.st --steps 3 --quiet
awk 'BEGIN { srand(4); for (i = 0; i < 4; i++) { s = ""; for (j = 0; j < 144; j++) s = s sprintf("%.3f ", rand() - 0.5); print s (i % 2) } }' > img12.txt
expect 2 "not a square of a side divisible by 8, as 4 levels need" train --arch unet --data-file img12.txt --labels --mult 1,1,1,1 --out x.st
expect 0 "" train --arch unet --data-file img8.txt --labels --mult 1,2 --attention off --channels 4 --batch 8 --steps 2 --quiet --out u2.st
expect 2 "unknown --precision 'f16'" train --arch unet --data-file img8.txt --precision f16 --out x.st
expect 0 "" train --arch unet --data-file img8.txt --labels --channels 4 --batch 8 --steps 2 --quiet --precision f32 --out u32.st
expect 0 "" train --resume u32.st --steps 3 --quiet
expect 0 "" sample --model u32.st -n 3 --steps 4 --class 1 --guidance 2
# 2 x 2 patches and logit-normal t (issue 27): a run that trains, resumes and samples; a patch the image
# cannot take, an unknown law, and a law EDM does not use are refused by name
expect 0 "" train --arch unet --data-file img8.txt --labels --patch 2 --mult 1,2 --channels 4 --batch 8 --steps 2 --time-law lognormal --p-mean 0.5 --p-std 1 --quiet --precision f32 --out up.st
expect 0 "" train --resume up.st --steps 3 --quiet
expect 0 "" sample --model up.st -n 3 --steps 4 --class 1 --guidance 2
"$fmd" info --json up.st | grep -q '"patch": 2' || { echo "check_cli_errors: info --json of a patched U-Net does not say patch 2"; fail=1; }
expect 2 "not a square of a side divisible by 16, as 4 levels need on 2 x 2 patches" train --arch unet --data-file img8.txt --patch 2 --mult 1,2,2,2 --out x.st
expect 2 "--patch" train --arch unet --data-file img8.txt --patch 3 --out x.st
expect 2 "--time-law normal: give uniform or lognormal" train --arch unet --data-file img8.txt --time-law normal --out x.st
expect 2 "--time-law uniform: edm draws its levels lognormal" train --arch unet --data-file img8.txt --objective edm --time-law uniform --out x.st
expect 0 "" info u32.st
"$fmd" info --json u32.st | grep -q '"precision": "f32"' || { echo "check_cli_errors: info --json of a float32 U-Net does not say f32"; fail=1; }
expect 2 "with --resume only --steps" train --resume u.st --steps 4 --lr 0.1
expect 0 "" info u.st
expect 0 "" info --json u.st
expect 2 "'--gmm' is not an option for a Fréchet distance" eval --model u.st --gmm "$G"
expect 2 "--classifier MODEL is required" eval --model u.st --data-file img8.txt
"$fmd" train --data-file img8.txt --labels --hidden 8,8 --steps 2 --batch 8 --out feat8.st >/dev/null 2>&1
expect 0 "" eval --model u.st --classifier feat8.st --data-file img8.txt -n 10 --steps 2
expect 0 "" eval --model feat8.st --classifier feat8.st --data-file img8.txt -n 10 --steps 2   # an MLP model's distance too
expect 2 "-n 30 needs 60 rows" eval --model u.st --classifier feat8.st --data-file img8.txt -n 30 --steps 2
expect 2 "m.st reads 2-dimensional images, the model makes 64-dimensional ones" eval --model u.st --classifier m.st --data-file img8.txt -n 10
expect 0 "" sample --model u.st -n 3 --steps 4 --class 1 --guidance 2
expect 0 "" sample --model u.st -n 4 --steps 3 --solver rk4 --png u.png
expect 2 "the model knows classes 0..1" sample --model u.st --class 2
expect 2 "a U-Net model takes euler, midpoint, heun or rk4" sample --model u.st --solver dpm2m
expect 2 "--gmm needs --schedule" sample --gmm "$G"
expect 2 "give --model or --gmm, not both" sample --gmm "$G" --schedule condot --model m.st
expect 2 "--schedule goes with --gmm" sample --model m.st --schedule vp
expect 2 "no component of" sample --gmm "$G" --schedule condot --class 7
expect 2 "give one of --data fashion-mnist or --data-file FILE" fit-gmm --out x.gmm
expect 2 "--per-class needs the data's classes" fit-gmm --data-file pts.txt --per-class --out x.gmm
expect 2 "--rank 5 needs d > 5" fit-gmm --data-file pts.txt --rank 5 --out x.gmm
printf '0 0 1 0\n1 0 0 0\n0 1 0 0\n2 2 2 1\n' > four.txt
expect 2 "class 1 has 1 row" fit-gmm --data-file four.txt --labels --per-class --rank 1 --out x.gmm
[ -e x.gmm ] && { echo "check_cli_errors: a refused fit-gmm left a file"; fail=1; }
printf '0 0 1 0\n1 0 0 0\n0 1 0 0\n2 2 2 1\n2 1 2 1\n3 2 2 1\n' > six.txt
expect 0 "" fit-gmm --data-file six.txt --labels --per-class --rank 1 --out six.gmm
printf '0.5 0.5 0.5\n' > pt3.txt
IN=pt3.txt expect 0 "" field --gmm six.gmm --schedule condot --t 0.5
[ "$(grep -vc '^#' "$tmp/out")" = 1 ] || { echo "check_cli_errors: fmd field on a fitted low-rank mixture:"; cat "$tmp/out"; fail=1; }
expect 0 "" sample --gmm six.gmm --schedule vp --solver dpm2m --steps 10 -n 5 --class 1
expect 2 "--levels has no effect without --objective ddpm-discrete" train --gmm "$G" --out x.st --levels 100
expect 2 "trains on the schedule ddpm:200, not vp" train --gmm "$G" --out x.st --objective ddpm-discrete --levels 200 --schedule vp
expect 2 "--weighting elbo weights the levels" train --gmm "$G" --out x.st --objective ddpm --weighting elbo
expect 2 "--levels" train --gmm "$G" --out x.st --objective ddpm-discrete --levels 50

# 8. eval: the data a model records; every kind of model
expect 2 "was trained on the toy set moons" eval --model moons.st --gmm "$G"
expect 2 "not on the toy set circles" eval --model moons.st --data circles
expect 0 "" eval --model dsm.st --gmm "$G" -n 200 --steps 10
grep -q "exact FM loss" "$tmp/out" || { echo "check_cli_errors: eval of a dsm model printed no table"; fail=1; }
"$fmd" train --gmm "$G" --objective cfm+dsm --out two.st --steps 4 --batch 16 --hidden 8 >/dev/null 2>&1
expect 0 "" eval --model two.st --gmm "$G" -n 200 --steps 10
grep -q "exact FM loss  *[0-9]" "$tmp/out" || { echo "check_cli_errors: eval of a two-headed model:"; cat "$tmp/out"; fail=1; }
expect 0 "" sample --model two.st -n 50 --sigma 1 --steps 20   # the SDE with both heads

# 9. the conveniences of the labs: info, own data, a loss log, SIGTERM, PNG samples, foreign files
expect 0 "" info m.st
grep -q "^objective *cfm" "$tmp/out" && grep -q "^checksum *present and matches" "$tmp/out" ||
    { echo "check_cli_errors: fmd info's table:"; cat "$tmp/out"; fail=1; }
expect 0 "" info m.st --json
python3 -c "import json,sys; j=json.load(open('$tmp/out')); sys.exit(0 if j['objective']=='cfm' and j['checksum'] else 1)" ||
    { echo "check_cli_errors: fmd info --json is not the model's JSON"; fail=1; }
python3 - <<'PY'
import json, struct
b = open("m.st", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
del h["__metadata__"]["fmd_checksum_fnv1a64"]
hb = json.dumps(h).encode()
open("nosum.st", "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
PY
expect 2 "without fmd's checksum" info nosum.st
expect 0 "no fmd checksum" sample --model nosum.st -n 5 --no-checksum
printf '# x y z w class\n0.1 0.2 0.3 0.4 0\n-1 1 -1 1 1\n0.5 0.5 -0.5 -0.5 1\n' > own.txt
expect 0 "" train --data-file own.txt --labels --out own.st --steps 3 --batch 8 --hidden 8 --quiet
[ -s "$tmp/err" ] && { echo "check_cli_errors: --quiet still printed:"; cat "$tmp/err"; fail=1; }
expect 0 "" sample --model own.st -n 4 --class 1 --guidance 2
expect 0 "" train --resume own.st --steps 5 --quiet   # its data and labels come from the checkpoint
printf '0.1 0.2 0.3 0.4 1.5\n' > badlabel.txt
expect 2 "badlabel.txt:1: the class (last column) is 1.5" train --data-file badlabel.txt --labels --out x.st
OUT=$tmp/stdout.txt expect 0 "" sample --model own.st -n 6 --png s.png
python3 -c "import sys; sys.exit(0 if open('s.png','rb').read(8) == b'\x89PNG\r\n\x1a\n' else 1)" ||
    { echo "check_cli_errors: --png wrote no PNG"; fail=1; }
expect 2 "not a square image" sample --model m.st -n 4 --png t.png
[ -e t.png ] && { echo "check_cli_errors: a refused --png left a file"; fail=1; }
expect 0 "" train --gmm "$G" --out logged.st --steps 100 --batch 16 --hidden 8 --log loss.tsv --quiet
[ "$(head -1 loss.tsv)" = "$(printf 'step\tloss\texact_fm_loss\tlr\tseconds')" ] && [ "$(wc -l < loss.tsv)" -eq 101 ] &&
    awk -F'\t' '$1 == 100 && $3 > 0 { ok = 1 } END { exit !ok }' loss.tsv ||
    { echo "check_cli_errors: --log wrote:"; head -3 loss.tsv; fail=1; }
"$fmd" train --gmm "$G" --out term.st --steps 100000000 --batch 16 --hidden 8 --quiet 2>/dev/null &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
got=$?
n=$((n + 1))
if [ "$got" -ne 130 ] || ! "$fmd" info term.st >/dev/null 2>&1; then
    echo "check_cli_errors: SIGTERM: exit $got, and the checkpoint $(ls term.st 2>&1)"; fail=1
fi
# chapter 6's discrete samplers on a trained model (any kind, through its noise prediction)
expect 0 "" sample --model m.st -n 50 --solver ddpm --steps 50
expect 0 "" sample --model m.st -n 50 --solver ddpm --steps 50 --variance posterior
expect 0 "" sample --model dsm.st -n 50 --solver langevin --steps 20
expect 0 "" sample --model m.st -n 50 --solver pc --steps 50
expect 2 "--variance is for --solver ddpm" sample --model m.st --solver pc --variance posterior
expect 2 "takes neither --t0 nor --t1" sample --model m.st --solver ddpm --t0 0.1
IN=pts.txt expect 0 "" field --gmm "$G" --schedule cosine --t 0.5
head -1 "$tmp/out" | grep -q "^# log_p	score_1	score_2	u_1	u_2	zmean_1	zmean_2$" ||
    { echo "check_cli_errors: fmd field's header:"; head -1 "$tmp/out"; fail=1; }

[ $fail -eq 0 ] && echo "check_cli_errors: $n cases of bad input and failing output, each refused with a message"
exit $fail
