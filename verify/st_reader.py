"""An independent reader of the safetensors layout, written from the
published description with Python's standard library only (json, struct):
8-byte little-endian header length N; N bytes of JSON (tensor name ->
dtype, shape, data_offsets; optional __metadata__ of strings), padded with
spaces; then the tensors' bytes, offsets relative to their start.
usage: python3 st_reader.py FILE  -- prints "name dtype shape" per tensor
and exits 1 (with the reason) if the file does not follow the layout."""
import json, struct, sys

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def main(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    payload = data[8 + n:]
    meta = header.pop("__metadata__", {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()), "metadata must map strings to strings"
    spans = []
    for name, t in sorted(header.items()):
        count = 1
        for s in t["shape"]:
            count *= s
        begin, end = t["data_offsets"]
        assert end - begin == count * SIZES[t["dtype"]], name + ": offsets do not match the shape"
        spans.append((begin, end))
        print(name, t["dtype"], "x".join(str(s) for s in t["shape"]))
    spans.sort()
    at = 0
    for begin, end in spans:
        assert begin == at, "offsets are not contiguous"
        at = end
    assert at == len(payload), "tensors do not cover the payload"
    for key in sorted(meta):
        print("meta", key, meta[key])


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Exception as e:   # any deviation from the layout
        print("st_reader: %s: %s" % (sys.argv[1], e), file=sys.stderr)
        sys.exit(1)
