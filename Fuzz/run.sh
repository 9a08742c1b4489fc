#!/usr/bin/env bash
# Builds each libFuzzer target with AddressSanitizer and runs it on a corpus seeded from
# Fixtures/. Usage: Fuzz/run.sh [SECONDS per target, default 60] [TARGET...]
# Targets: gguf safetensors json pytorch pickle image architecture. Findings (crash-*, leak-*,
# timeout-*, oom-*) land in fuzz-out/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(gguf safetensors json pytorch pickle image architecture)
sources=$(find Sources/WeightFormats -name '*.swift')
findings=0
fixtures=$PWD/Fixtures

# Libraries are built by SwiftPM in .build-fuzz (release, every Swift and C file instrumented
# for the fuzzer and AddressSanitizer; one -sanitize=fuzzer,address: SwiftPM's --sanitize=fuzzer
# --sanitize=address gives swiftc two flags, and only the last counts, which leaves the
# libraries without coverage). The parser targets take the C targets WeightFormats imports from
# there (CKernels, with its kernels per instruction-set tier, and CTemporaryFiles).
swiftpm=(-c release --build-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address -j 2)
built=.build-fuzz/release
for module in CKernels CTemporaryFiles; do swift build "${swiftpm[@]}" --target "$module" | tail -n 1; done
objects=()
while IFS= read -r object; do objects+=("$PWD/$object"); done < <(find "$built/CKernels.build" "$built/CTemporaryFiles.build" -name '*.o')
cflags="-I $built/CKernels.build -I Sources/CTemporaryFiles/include"

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
        architecture) # the harness loads its seed models from Fixtures; one input per seed model,
                      # unedited, then each with one edit of its first key
                      for i in $(seq 0 63); do
                          printf "\\x$(printf %02x "$i")" > "fuzz-out/architecture/seed-$i"
                          printf "\\x$(printf %02x "$i")\\x00\\x01\\x00\\x00\\x00" > "fuzz-out/architecture/seed-$i-edit"
                      done
                      find fuzz-out/architecture -maxdepth 1 -name 'seed-*'
                      find Fuzz/regressions/architecture -type f ;;  # past findings, fixed
    esac
}

# The architecture target reaches every library from WeightFormats to WeightModels and
# WeightBudget: SwiftPM builds them in .build-fuzz, and the harness is linked against their
# objects.
build_architecture() {  # output binary
    swift build "${swiftpm[@]}" --target WeightModels | tail -n 1
    swift build "${swiftpm[@]}" --target WeightBudget | tail -n 1
    local libraries=()
    for module in WeightFormats WeightTokenizers WeightArchitecture WeightCompute WeightModels WeightBudget CKernels CTemporaryFiles; do
        while IFS= read -r object; do libraries+=("$object"); done < <(find "$built/$module.build" -name '*.o')
    done
    # shellcheck disable=SC2046
    swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name ArchitectureFuzzer -I "$built/Modules" $cflags \
        -I Sources/CZstd -I Sources/COpenBLAS $(pkg-config --cflags-only-I libzstd openblas | sed 's/-I/-Xcc -I/g') \
        Fuzz/ArchitectureFuzzer.swift "${libraries[@]}" $(pkg-config --libs libzstd openblas) -lstdc++ -o "$1" \
        2> >(grep -v -e "Cannot export local symbol" -e "^\s*$" >&2)
}

for target in "${targets[@]}"; do
    case $target in
        gguf) main=Fuzz/GGUFFuzzer.swift ;; safetensors) main=Fuzz/SafeTensorsFuzzer.swift ;;
        json) main=Fuzz/JSONFuzzer.swift ;; pytorch) main=Fuzz/PyTorchFuzzer.swift ;;
        pickle) main=Fuzz/PickleFuzzer.swift ;;
        image) main="Fuzz/ImageFuzzer.swift Sources/WeightImages/DecodedImage.swift Sources/WeightImages/ImageError.swift" ;;
        architecture) main="" ;;
        *) echo "unknown target $target" >&2; exit 2 ;;
    esac
    extra=""
    if [ "$target" = image ]; then
        extra="-I Sources/CPNG -I Sources/CJPEG $(pkg-config --libs libpng libjpeg)"
    fi
    out=fuzz-out/$target
    max_len=1048576 leaks=1
    # The architecture target's inputs are edit lists, not files. Its seed models live in
    # globals whose references Swift packs into enum payloads (spare pointer bits), where
    # LeakSanitizer cannot see them: leak checks would report them, so they are off for it (a
    # leak per run still ends at -rss_limit_mb).
    # Its inputs are short, and each byte counts: -len_control=0 lets mutations use the whole
    # length (several edits per input) from the start.
    length_control=100
    if [ "$target" = architecture ]; then max_len=512 leaks=0 length_control=0; fi
    mkdir -p "$out/corpus"
    echo "== $target: building"
    if [ "$target" = architecture ]; then
        build_architecture "$out/fuzzer"
    else
    # shellcheck disable=SC2086
    # (gold warns once per ASan register helper that it cannot export it; those lines are noise.)
    swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name WeightFormats -target-cpu native \
        -I Sources/CZstd $(pkg-config --cflags-only-I libzstd | sed 's/-I/-Xcc -I/g') $(pkg-config --libs libzstd) \
        $cflags $extra "${objects[@]}" -lstdc++ $sources $main -o "$out/fuzzer" \
        2> >(grep -v -e "Cannot export local symbol" -e "file is part of module" -e "^import WeightFormats" -e "^ *[|^]" -e "^\s*$" >&2)
    fi
    seed "$target" | while read -r f; do cp "$f" "$out/corpus/$(basename "$f")"; done
    echo "== $target: fuzzing for ${seconds}s"
    if (cd "$out" && WEIGHTKIT_FIXTURES="$fixtures" ASAN_OPTIONS="detect_leaks=$leaks" ./fuzzer -max_total_time="$seconds" -max_len="$max_len" -detect_leaks="$leaks" -len_control="$length_control" -rss_limit_mb=2048 -timeout=10 \
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
