#!/bin/sh
# check_safetensors.sh FMD -- a model written by `fmd train` parses under an
# independent reader of the published safetensors layout (verify/st_reader.py,
# Python's standard library only) with the expected tensor names and shapes.
set -u
fmd=$1
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$fmd" train --data moons --out "$tmp/m.safetensors" --steps 3 --batch 16 --hidden 32,16 2>/dev/null || {
    echo "check_safetensors: fmd train failed"; exit 1; }
"$py" verify/st_reader.py "$tmp/m.safetensors" > "$tmp/listing" || exit 1
# d = 2, raw t: inputs 3; layers 3 -> 32 -> 16 -> 2: 128 + 528 + 34 = 690 parameters
cat > "$tmp/expected" <<'LIST'
adam.m F64 690
adam.v F64 690
net.0.W F64 3x32
net.0.b F64 32
net.1.W F64 32x16
net.1.b F64 16
net.2.W F64 16x2
net.2.b F64 2
LIST
grep -v '^meta ' "$tmp/listing" > "$tmp/tensors"
if ! diff -u "$tmp/expected" "$tmp/tensors"; then
    echo "check_safetensors: tensor names or shapes differ from the expected ones"; exit 1
fi
for key in format hidden activation schedule objective data steps seed dtype fmd_checksum_fnv1a64; do
    grep -q "^meta $key " "$tmp/listing" || { echo "check_safetensors: metadata '$key' missing"; exit 1; }
done
grep -q "^meta dtype f64$" "$tmp/listing" || { echo "check_safetensors: a default model does not say dtype f64"; exit 1; }
# the float32 path: the same tensors as F32, and dtype f32 in the metadata
"$fmd" train --data moons --out "$tmp/m32.safetensors" --steps 3 --batch 16 --hidden 32,16 --precision f32 2>/dev/null || {
    echo "check_safetensors: fmd train --precision f32 failed"; exit 1; }
"$py" verify/st_reader.py "$tmp/m32.safetensors" > "$tmp/listing32" || exit 1
sed 's/ F64 / F32 /' "$tmp/expected" > "$tmp/expected32"
grep -v '^meta ' "$tmp/listing32" > "$tmp/tensors32"
if ! diff -u "$tmp/expected32" "$tmp/tensors32"; then
    echo "check_safetensors: the float32 model's tensors differ from the expected ones"; exit 1
fi
grep -q "^meta dtype f32$" "$tmp/listing32" || { echo "check_safetensors: a float32 model does not say dtype f32"; exit 1; }
echo "check_safetensors: an independent reader parses fmd's model files (F64 and F32) with the expected tensors"
