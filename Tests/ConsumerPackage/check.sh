#!/usr/bin/env bash
# Builds Tests/ConsumerPackage against a tagged clone of this repository (its committed HEAD),
# as a versioned git dependency, and runs it on a fixture: the names it prints must be those
# `weightkit inspect --json` lists. Works offline: WeightKit comes from the local clone, and
# swift-argument-parser from SwiftPM's cache or the machine's git mirror.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
start=$(date +%s)

git clone --quiet --no-local "$root" "$scratch/WeightKit"
git -C "$scratch/WeightKit" tag -l | xargs -r git -C "$scratch/WeightKit" tag -d >/dev/null
git -C "$scratch/WeightKit" tag 0.0.1

# The consumer is built from a copy, so that nothing (Package.resolved) is written into the tree.
mkdir "$scratch/consumer"
cp -R "$root/Tests/ConsumerPackage/Package.swift" "$root/Tests/ConsumerPackage/Sources" "$scratch/consumer/"
export WEIGHTKIT_CLONE="$scratch/WeightKit"
swift build --package-path "$scratch/consumer" --scratch-path "$scratch/build" 2>&1 | grep -v '^\[' || true
consumer="$scratch/build/debug/weightkit-consumer"
[ -x "$consumer" ] || { echo "consumer package: build failed"; exit 1; }

file="$root/Fixtures/core/tiny.gguf"
got="$("$consumer" "$file" | awk '$1 != "isa" { print $1 }')"
expected="$("$root/.build/release/weightkit" inspect "$file" --json | grep -o '"name":"[^"]*"' | sed 's/"name":"//; s/"$//')"
if [ "$got" != "$expected" ]; then
  echo "consumer package: tensors differ"; echo "got:"; echo "$got"; echo "expected:"; echo "$expected"; exit 1
fi
"$consumer" "$file" | tail -1
echo "consumer package: built as a versioned dependency and ran in $(( $(date +%s) - start )) s"
