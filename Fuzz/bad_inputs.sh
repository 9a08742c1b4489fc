#!/usr/bin/env bash
# Runs weightkit on every crafted bad input of the hardening round under `ulimit -v` 2 GiB and
# a 10 s timeout, and checks each ends with the expected status and (for errors) one line on
# stderr. Prints a Markdown table with the wall time and peak RSS (/usr/bin/time -f %M) of
# each, as recorded in Docs/FUZZING.md. Usage: Fuzz/bad_inputs.sh [path/to/weightkit]
#
# Add a case with `case_ NAME EXPECTED_STATUS -- ARGS...` below; inputs are crafted into $work.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/weightkit}
[ -x "$bin" ] || { echo "build weightkit first ($bin not found)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# Crafted inputs (Python's standard library only).
mkfifo "$work/pipe.gguf" "$work/pipe.png"
mkdir "$work/sharded"; cp Fixtures/core/hf-sharded/* "$work/sharded/"
rm "$work/sharded/model.safetensors.index.json"; mkfifo "$work/sharded/model.safetensors.index.json"
cp Fixtures/core/tiny.gguf "$work/model.gguf"; ln -s model.gguf "$work/link.gguf"
python3 - "$work" <<'PY'
import struct, sys, zlib, zipfile, pathlib
work = pathlib.Path(sys.argv[1])
png = bytearray(open("Fixtures/vision/images/portrait.png", "rb").read())
png[16:24] = struct.pack(">II", 60000, 60000)
png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
(work / "bomb.png").write_bytes(png)
jpg = bytearray(open("Fixtures/vision/images/landscape.jpg", "rb").read())
i = 2
while jpg[i + 1] not in (0xC0, 0xC1, 0xC2):
    i += 2 + struct.unpack(">H", jpg[i + 2:i + 4])[0]
jpg[i + 5:i + 9] = struct.pack(">HH", 60000, 60000)
(work / "bomb.jpg").write_bytes(jpg)
def npy(path, shape, data=b""):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (shape,)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)
npy(work / "overflow.npy", (4294967296, 4294967296, 16), b"\0" * 16)
npy(work / "large-pixels.npy", (1, 3, 1200, 1200), b"\0" * (3 * 1200 * 1200 * 4))
# A GGUF tensor of zero rows and 2^40 columns.
name = b"t"
gguf = b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + struct.pack("<Q", len(name)) + name
gguf += struct.pack("<I", 2) + struct.pack("<QQ", 1 << 40, 0) + struct.pack("<IQ", 0, 0)
gguf += b"\0" * ((32 - len(gguf) % 32) % 32)
(work / "zero-rows.gguf").write_bytes(gguf)
# A pickle of 20,000 nested lists inside a torch-style zip.
pickle = b"\x80\x02" + b"]" * 20000 + b"a" * 19999 + b"."
with zipfile.ZipFile(work / "nested.pth", "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", pickle)
    z.writestr("archive/byteorder", "little")
PY

case_() {  # NAME EXPECTED -- ARGS...
    local name=$1 expected=$2; shift 3
    local err="$work/stderr" timing="$work/time"
    ( ulimit -v 2097152; /usr/bin/time -o "$timing" -f "%e %M" timeout 10 "$bin" "$@" > /dev/null 2> "$err" < /dev/null )
    local status=$?
    read -r seconds rss < <(tail -n 1 "$timing")
    local lines; lines=$(grep -vc '^Command exited' "$err")
    local verdict=ok
    if [ "$status" != "$expected" ] || { [ "$expected" = 1 ] && [ "$lines" != 1 ]; }; then
        verdict="FAILED (status $status, $lines stderr lines)"; failures=$((failures + 1))
    fi
    printf '| %s | %s | %s s | %s MB | %s |\n' "$name" "$status" "$seconds" "$((rss / 1024))" "$verdict"
}

echo "| input | exit | time | peak RSS | |"
echo "| --- | ---: | ---: | ---: | --- |"
case_ "FIFO as the model (inspect)" 1 -- inspect "$work/pipe.gguf"
case_ "FIFO as --image" 1 -- encode-image Fixtures/vision/clip-vision-tiny --image "$work/pipe.png" --out "$work/h.npy"
case_ "FIFO as model.safetensors.index.json" 1 -- inspect "$work/sharded"
case_ "character device as the model" 1 -- verify /dev/zero
case_ "PNG declaring 60000x60000" 1 -- encode-image Fixtures/vision/clip-vision-tiny --image "$work/bomb.png" --out "$work/h.npy"
case_ "JPEG declaring 60000x60000" 1 -- encode-image Fixtures/vision/clip-vision-tiny --image "$work/bomb.jpg" --out "$work/h.npy"
case_ "--pixels 1200x1200" 1 -- encode-image Fixtures/vision/clip-vision-tiny --pixels "$work/large-pixels.npy" --out "$work/h.npy"
case_ ".npy whose shape product overflows" 1 -- encode-image Fixtures/vision/clip-vision-tiny --pixels "$work/overflow.npy" --out "$work/h.npy"
case_ "expanded .pth: inspect (a view)" 0 -- inspect Fixtures/pytorch/expanded.pth
case_ "expanded .pth: verify (a view)" 0 -- verify Fixtures/pytorch/expanded.pth --hashes
case_ "expanded .pth: tensor" 1 -- tensor Fixtures/pytorch/expanded.pth zeros
case_ "expanded .pth: convert" 1 -- convert Fixtures/pytorch/expanded.pth "$work/x.safetensors"
case_ "zero rows x 2^40 columns: verify" 0 -- verify "$work/zero-rows.gguf"
case_ "zero rows x 2^40 columns: tensor --out" 0 -- tensor "$work/zero-rows.gguf" t --out "$work/t.npy"
case_ "20,000 nested lists in a pickle" 1 -- inspect "$work/nested.pth"
case_ "convert onto its input (--force)" 1 -- convert "$work/model.gguf" "$work/model.gguf" --force
case_ "convert onto a symlink to its input (--force)" 1 -- convert "$work/model.gguf" "$work/link.gguf" --force
case_ "tensor --out onto an existing file" 1 -- tensor "$work/model.gguf" blk.0.ffn_up.weight --out "$work/model.gguf"
echo
[ "$failures" = 0 ] && echo "all cases as expected" || echo "$failures case(s) not as expected"
exit $((failures > 0))
