#!/usr/bin/env bash
# Builds each parser's libFuzzer target with AddressSanitizer and runs it on a corpus seeded
# from Fixtures/. Usage: Fuzz/run.sh [SECONDS per target, default 60] [TARGET...]
# Targets: gguf safetensors json pytorch pickle image. Findings (crash-*, leak-*) land in
# fuzz-out/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(gguf safetensors json pytorch pickle image)
sources=$(find Sources/WeightFormats -name '*.swift')
findings=0

# The C targets WeightFormats imports (CKernels, CTemporaryFiles), compiled with the sanitizers
# and given module maps, as SwiftPM would.
cmodules=fuzz-out/cmodules
mkdir -p "$cmodules/CKernels" "$cmodules/CTemporaryFiles"
printf 'module CKernels {\n    umbrella "%s/Sources/CKernels/include"\n    export *\n}\n' "$PWD" > "$cmodules/CKernels/module.modulemap"
cp Sources/CTemporaryFiles/include/module.modulemap "$cmodules/CTemporaryFiles/module.modulemap"
sed -i "s|header \"temporary_files.h\"|header \"$PWD/Sources/CTemporaryFiles/include/temporary_files.h\"|" "$cmodules/CTemporaryFiles/module.modulemap"
objects=()
# WeightFormats calls only the UTF-8 validator of CKernels.
for c in Sources/CKernels/utf8.c Sources/CTemporaryFiles/*.c; do
    object="$cmodules/$(basename "$c" .c).o"
    clang -c -O2 -g -march=native -fno-math-errno -fsanitize=address,fuzzer-no-link -I Sources/CKernels/include \
        -I Sources/CTemporaryFiles/include "$c" -o "$object"
    objects+=("$PWD/$object")
done
cflags="-I $cmodules/CKernels -I $cmodules/CTemporaryFiles"

seed() {  # target -> fixture files that seed its corpus
    case $1 in
        gguf) find Fixtures -name '*.gguf' -size -2M ;;
        safetensors) find Fixtures -name '*.safetensors' -size -2M ;;
        json) find Fixtures -name '*.json' -size -256k | head -200 ;;
        pytorch) find Fixtures \( -name '*.pth' -o -name '*.bin' \) -size -2M ;;
        pickle) # the data.pkl of every fixture checkpoint (legacy and broken files have none)
                find Fixtures \( -name '*.pth' -o -name '*.bin' \) -size -2M | while read -r f; do
                    entry=$( (unzip -Z1 "$f" 2>/dev/null || true) | (grep 'data.pkl$' || true) | head -n 1)
                    [ -n "$entry" ] && unzip -p "$f" "$entry" > "fuzz-out/pickle/seed-$(basename "$f").pkl" || true
                done
                find fuzz-out/pickle -maxdepth 1 -name 'seed-*.pkl' ;;
        image) find Fixtures/vision/images \( -name '*.png' -o -name '*.jpg' \) -size -2M ;;
    esac
}

for target in "${targets[@]}"; do
    case $target in
        gguf) main=Fuzz/GGUFFuzzer.swift ;; safetensors) main=Fuzz/SafeTensorsFuzzer.swift ;;
        json) main=Fuzz/JSONFuzzer.swift ;; pytorch) main=Fuzz/PyTorchFuzzer.swift ;;
        pickle) main=Fuzz/PickleFuzzer.swift ;;
        image) main="Fuzz/ImageFuzzer.swift Sources/WeightImages/DecodedImage.swift Sources/WeightImages/ImageError.swift" ;;
        *) echo "unknown target $target" >&2; exit 2 ;;
    esac
    extra=""
    if [ "$target" = image ]; then
        extra="-I Sources/CPNG -I Sources/CJPEG $(pkg-config --libs libpng libjpeg)"
    fi
    out=fuzz-out/$target
    mkdir -p "$out/corpus"
    echo "== $target: building"
    # shellcheck disable=SC2086
    # (gold warns once per ASan register helper that it cannot export it; those lines are noise.)
    swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name WeightFormats -target-cpu native \
        -I Sources/CZstd $(pkg-config --cflags-only-I libzstd | sed 's/-I/-Xcc -I/g') $(pkg-config --libs libzstd) \
        $cflags $extra "${objects[@]}" $sources $main -o "$out/fuzzer" \
        2> >(grep -v -e "Cannot export local symbol" -e "file is part of module" -e "^import WeightFormats" -e "^ *[|^]" -e "^\s*$" >&2)
    seed "$target" | while read -r f; do cp "$f" "$out/corpus/$(basename "$f")"; done
    echo "== $target: fuzzing for ${seconds}s"
    if (cd "$out" && ./fuzzer -max_total_time="$seconds" -max_len=1048576 -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 corpus > fuzz.log 2>&1); then
        grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+.*DONE" "$out/fuzz.log" || true
        echo "== $target: no findings"
    else
        findings=$((findings + 1))
        grep -E "ERROR|crashed|Fatal|Test unit written" "$out/fuzz.log" | head -n 5
        echo "== $target: FINDING (see $out/fuzz.log)"
    fi
done
exit $((findings > 0))
