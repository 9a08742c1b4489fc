#!/usr/bin/env bash
# Runs weightkit on every crafted bad input of the hardening round under `ulimit -v` 2 GiB and
# `ulimit -t` 10 s of CPU (with a 60 s wall-clock timeout for hangs), and checks each ends with
# the expected status and (for errors) one line on stderr, naming the key or file when the case
# gives one. Prints a Markdown table with the wall and CPU time and peak RSS (/usr/bin/time -f
# %M) of each, as recorded in Docs/FUZZING.md (CPU time tells a slow input from a busy machine).
# Usage: Fuzz/bad_inputs.sh [path/to/weightkit]
#
# Add a case with `case_ NAME EXPECTED_STATUS [TEXT THE ERROR MUST NAME] -- ARGS...` below;
# inputs are crafted into $work. The hostile descriptions come from Fixtures/hostile (written by
# Fixtures/generators/hostile_hyperparameters.py); each bare config.json is run through
# `budget`, and, beside qwen3-tiny's tensors, through `run` (binding and a forward step).
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
# Hostile qwen3 configs beside real tensors, so that `run` reaches binding and the forward pass.
for config in Fixtures/hostile/configs/*/config.json; do
    case=$(basename "$(dirname "$config")")
    mkdir -p "$work/with-tensors/$case"; cp "$config" "$work/with-tensors/$case/config.json"
    ln -s "$PWD/Fixtures/models/qwen3-tiny/model.safetensors" "$work/with-tensors/$case/model.safetensors"
done
# An index that leaves out lm_head, of a model whose config says the embeddings are not tied.
mkdir "$work/no-head"; cp Fixtures/core/hf-sharded/* "$work/no-head/"
touch "$work/existing.npy" "$work/existing.svg"
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
# A well-formed state dict of 40,000 float tensors [2] in one SETITEMS batch (linear time).
def string(text): return b"\x8c" + bytes([len(text)]) + text.encode()
def glob(module, name): return b"c" + f"{module}\n{name}\n".encode()
parts = [b"\x80\x02}("]
for i in range(40000):
    parts += [string(f"t.{i}"), glob("torch._utils", "_rebuild_tensor_v2"), b"((", string("storage"),
              glob("torch", "FloatStorage"), string(str(i)), string("cpu"), b"K\x02tQ", b"K\x00K\x02\x85K\x01\x85\x89",
              glob("collections", "OrderedDict"), b")RtR"]
parts.append(b"u.")
with zipfile.ZipFile(work / "many.pth", "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", b"".join(parts))
    z.writestr("archive/byteorder", "little")
    for i in range(40000):
        z.writestr(f"archive/data/{i}", b"\0" * 8)
# 60,000 prompt tokens for a model of 128 positions.
(work / "tokens-60000").write_text(",".join(["1"] * 60000))
import json
index = json.loads((work / "no-head" / "model.safetensors.index.json").read_text())
index["weight_map"] = {k: v for k, v in index["weight_map"].items() if k != "lm_head.weight"}
(work / "no-head" / "model.safetensors.index.json").write_text(json.dumps(index))
PY

case_() {  # NAME EXPECTED [NAMED] -- ARGS...
    local name=$1 expected=$2 named=""; shift 2
    if [ "$1" != "--" ]; then named=$1; shift; fi
    shift
    local err="$work/stderr" timing="$work/time"
    # 10 s of CPU (ulimit -t) is the limit; the wall-clock timeout only catches a hang that
    # uses none (a blocking open), with room for a machine shared by many jobs.
    ( ulimit -v 2097152 -t 10; /usr/bin/time -o "$timing" -f "%e %U %S %M" timeout 60 "$bin" "$@" > /dev/null 2> "$err" < /dev/null )
    local status=$?
    local seconds user system rss
    read -r seconds user system rss < <(tail -n 1 "$timing")
    local lines; lines=$(grep -vc '^Command exited' "$err")
    local verdict=ok
    if [ "$status" != "$expected" ] || { [ "$expected" = 1 ] && [ "$lines" != 1 ]; } \
        || { [ -n "$named" ] && ! grep -qF -- "$named" "$err"; }; then
        verdict="FAILED (status $status, $lines stderr lines)"; failures=$((failures + 1))
    fi
    printf '| %s | %s | %s s | %.2f s | %s MB | %s |\n' "$name" "$status" "$seconds" "$(awk "BEGIN { print $user + $system }")" "$((rss / 1024))" "$verdict"
}

echo "| input | exit | wall time | CPU time | peak RSS | |"
echo "| --- | ---: | ---: | ---: | ---: | --- |"
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

# Architectures: every rule of the validation pass reached through the CLI.
hostile=Fixtures/hostile
tiny=Fixtures/models/qwen3-tiny-gguf/qwen3-tiny-f32.gguf
max=9223372036854775807
case_ "GGUF rope.dimension_count > head size: run" 1 rope.dimension_count -- run $hostile/gguf/rope-dimensions-beyond-head.gguf --tokens 1,2 --generate 1
case_ "config partial_rotary_factor 2.0: budget" 1 partial_rotary_factor -- budget $hostile/configs/partial-rotary-2
case_ "config partial_rotary_factor 2.0 with tensors: run" 1 partial_rotary_factor -- run "$work/with-tensors/partial-rotary-2" --tokens 1,2 --generate 1
case_ "GGUF per-layer head_count_kv [1, 4]: run (supported)" 0 -- run $hostile/per-layer-kv-heads.gguf --tokens 1,2 --generate 2
case_ "GGUF head_count_kv 0: run" 1 head_count_kv -- run $hostile/gguf/kv-heads-zero.gguf --tokens 1,2 --generate 1
case_ "GGUF per-layer head_count_kv holding 0: run" 1 head_count_kv -- run $hostile/gguf/kv-heads-per-layer-zero.gguf --tokens 1 --generate 1
case_ "config num_key_value_heads 0: budget" 1 num_key_value_heads -- budget $hostile/configs/kv-heads-zero
case_ "config num_attention_heads 0: budget" 1 num_attention_heads -- budget $hostile/configs/heads-zero
case_ "config num_attention_heads 0 with tensors: run" 1 num_attention_heads -- run "$work/with-tensors/heads-zero" --tokens 1,2 --generate 1
case_ "GGUF head_count 0: run" 1 head_count -- run $hostile/gguf/heads-zero.gguf --tokens 1 --generate 1
case_ "CLIP patch_size 0: budget" 1 patch_size -- budget $hostile/configs/clip-patch-zero
case_ "CLIP heads not dividing hidden size: budget" 1 num_attention_heads -- budget $hostile/configs/clip-heads-not-dividing
case_ "GGUF heads not a multiple of KV heads: run" 1 head_count -- run $hostile/gguf/heads-not-multiple-of-kv.gguf --tokens 1 --generate 1
case_ "config heads not a multiple of KV heads: budget" 1 num_attention_heads -- budget $hostile/configs/kv-heads-not-dividing
case_ "expert LM heads not dividing: budget" 1 -- budget $hostile/configs/expert-lm-heads-not-dividing
case_ "params.json dim not a multiple of heads: budget" 1 dim -- budget $hostile/params/dim-not-multiple-of-heads
case_ "GGUF odd key_length: run" 1 key_length -- run $hostile/gguf/head-size-odd.gguf --tokens 1 --generate 1
case_ "GGUF odd rope.dimension_count: run" 1 rope.dimension_count -- run $hostile/gguf/rope-dimensions-odd.gguf --tokens 1 --generate 1
case_ "config odd head_dim: budget" 1 head_dim -- budget $hostile/configs/head-size-odd
case_ "GGUF key_length 0: run" 1 key_length -- run $hostile/gguf/key-length-zero.gguf --tokens 1 --generate 1
case_ "config num_hidden_layers -2: budget" 1 num_hidden_layers -- budget $hostile/configs/layers-negative
case_ "GGUF block_count negative: run" 1 block_count -- run $hostile/gguf/block-count-negative.gguf --tokens 1 --generate 1
case_ "config partial_rotary_factor 1e300: budget" 1 partial_rotary_factor -- budget $hostile/configs/partial-rotary-1e300
case_ "config partial_rotary_factor 1e300 with tensors: run" 1 partial_rotary_factor -- run "$work/with-tensors/partial-rotary-1e300" --tokens 1 --generate 1
case_ "config partial_rotary_factor 0: budget" 1 partial_rotary_factor -- budget $hostile/configs/partial-rotary-zero
case_ "params.json ffn_dim_multiplier 1e300: budget" 1 ffn_dim_multiplier -- budget $hostile/params/ffn-multiplier-1e300
case_ "params.json n_future_tokens beyond layers: budget" 1 n_future_tokens -- budget $hostile/params/future-beyond-layers
case_ "GGUF block_count 2^62: run" 1 block_count -- run $hostile/gguf/block-count-2e62.gguf --tokens 1 --generate 1
case_ "GGUF block_count 2^62: budget" 1 block_count -- budget $hostile/gguf/block-count-2e62.gguf
case_ "GGUF block_count 2^31: run" 1 block_count -- run $hostile/gguf/block-count-2e31.gguf --tokens 1 --generate 1
case_ "GGUF block_count 2^31: budget" 1 block_count -- budget $hostile/gguf/block-count-2e31.gguf
case_ "GGUF block_count beyond its tensors: run" 1 block_count -- run $hostile/gguf/block-count-beyond-tensors.gguf --tokens 1 --generate 1
case_ "GGUF vocab_size 0 (a fuzz finding): run" 1 vocab_size -- run $hostile/gguf/vocab-size-zero.gguf --tokens 1 --generate 1
case_ "GGUF embedding_length 0: run" 1 embedding_length -- run $hostile/gguf/hidden-zero.gguf --tokens 1 --generate 1
case_ "GGUF embedding_length huge: budget" 1 embedding_length -- budget $hostile/gguf/hidden-huge.gguf
case_ "GGUF feed_forward_length huge: budget" 1 feed_forward_length -- budget $hostile/gguf/feed-forward-huge.gguf
case_ "GGUF context_length negative: run" 1 context_length -- run $hostile/gguf/context-negative.gguf --tokens 1 --generate 1
case_ "GGUF context_length huge: budget" 1 context_length -- budget $hostile/gguf/context-huge.gguf
case_ "GGUF rms epsilon NaN: run" 1 layer_norm_rms_epsilon -- run $hostile/gguf/epsilon-nan.gguf --tokens 1 --generate 1
case_ "GGUF rms epsilon negative: run" 1 layer_norm_rms_epsilon -- run $hostile/gguf/epsilon-negative.gguf --tokens 1 --generate 1
case_ "GGUF rope.freq_base infinite: run" 1 rope.freq_base -- run $hostile/gguf/rope-base-infinite.gguf --tokens 1 --generate 1
case_ "GGUF sliding_window 0: run" 1 sliding_window -- run $hostile/gguf/sliding-window-zero.gguf --tokens 1 --generate 1
case_ "GGUF expert_used_count > expert_count: run" 1 expert_used_count -- run $hostile/gguf/experts-used-beyond-count.gguf --tokens 1 --generate 1
case_ "GGUF expert_count huge: budget" 1 expert_count -- budget $hostile/gguf/expert-count-huge.gguf
case_ "GGUF MTP n_future_tokens beyond layers: run" 1 n_future_tokens -- run $hostile/gguf/mtp-future-beyond-layers.gguf --tokens 1 --generate 1
case_ "config num_hidden_layers 1e18: budget" 1 num_hidden_layers -- budget $hostile/configs/layers-1e18
case_ "config num_hidden_layers 1e18 with tensors: run" 1 num_hidden_layers -- run "$work/with-tensors/layers-1e18" --tokens 1 --generate 1
case_ "config hidden_size huge (1e18 class): budget" 1 hidden_size -- budget $hostile/configs/hidden-huge
case_ "config intermediate_size huge: budget" 1 intermediate_size -- budget $hostile/configs/intermediate-huge
case_ "config vocab_size huge: budget" 1 vocab_size -- budget $hostile/configs/vocab-huge
case_ "config max_position_embeddings huge: budget" 1 max_position_embeddings -- budget $hostile/configs/context-huge
case_ "config rms_norm_eps negative: budget" 1 rms_norm_eps -- budget $hostile/configs/epsilon-negative
case_ "config rope_theta 0: budget" 1 rope_theta -- budget $hostile/configs/rope-theta-zero
case_ "config rope_scaling.factor negative: budget" 1 rope_scaling -- budget $hostile/configs/rope-scaling-factor-negative
case_ "config rope_scaling.low_freq_factor 10^400 (infinite): budget" 1 rope_scaling.low_freq_factor -- budget $hostile/configs/rope-scaling-parameter-infinite
case_ "CLIP 65536-pixel image of 1-pixel patches (attention overflows): budget" 1 image_size -- budget $hostile/configs/clip-attention-overflow
case_ "config MoE experts_per_tok > experts: budget" 1 num_experts_per_tok -- budget $hostile/configs/moe-used-beyond-experts
case_ "budget --ctx Int.max" 1 --ctx -- budget Fixtures/models/qwen3-tiny --ctx $max
case_ "budget --parallel Int.max" 1 --parallel -- budget Fixtures/models/qwen3-tiny --parallel $max
case_ "budget --lora-rank Int.max" 1 --lora-rank -- budget Fixtures/models/qwen3-tiny --lora-rank $max
case_ "budget --images Int.max" 1 --images -- budget Fixtures/vision/llava-tiny --images $max
case_ "run --generate Int.max" 1 -- run $tiny --tokens 1,2 --generate $max
case_ "60,000 prompt tokens on a 128-token model" 1 -- run $tiny --tokens "$(cat "$work/tokens-60000")" --generate 1
case_ "40,000-tensor pickle: inspect (well formed)" 0 -- inspect "$work/many.pth"
case_ "convert a GGUF whose rms epsilon is NaN" 1 layer_norm_rms_epsilon -- convert $hostile/gguf/epsilon-nan.gguf "$work/nan-out"
case_ "index leaving out lm_head (untied): convert" 1 lm_head -- convert "$work/no-head" "$work/no-head.gguf"
case_ "index leaving out lm_head (untied): run" 1 lm_head -- run "$work/no-head" --tokens 1,2 --generate 1
case_ "run --logits onto an existing file" 1 existing.npy -- run $tiny --tokens 1,2 --logits "$work/existing.npy"
case_ "run --logits onto the model" 1 -- run "$work/model.gguf" --tokens 1,2 --logits "$work/model.gguf" --force
case_ "budget --plot onto an existing file" 1 existing.svg -- budget Fixtures/models/qwen3-tiny --plot "$work/existing.svg"
case_ "encode-image --out onto an existing file" 1 existing.npy -- encode-image Fixtures/vision/clip-vision-tiny --image Fixtures/vision/images/portrait.png --out "$work/existing.npy"
echo
[ "$failures" = 0 ] && echo "all cases as expected" || echo "$failures case(s) not as expected"
exit $((failures > 0))
