#!/usr/bin/env python3
"""Time from exec to the first byte on stdout: `weightkit run --prompt` against
`llama-completion -no-cnv` on the same GGUF and prompt, the two taking turns.

Usage: first_byte.py WEIGHTKIT LLAMA_COMPLETION MODEL.gguf [ROUNDS]. Prints JSON with every
round's seconds and the medians."""
import json
import statistics
import subprocess
import sys
import time

PROMPT = "The capital of France is"


def first_byte(command):
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    byte = process.stdout.read(1)
    elapsed = time.perf_counter() - start
    process.stdout.read()
    process.wait()
    if not byte or process.returncode != 0:
        sys.exit(f"{command[0]} wrote nothing or failed ({process.returncode})")
    return elapsed


def main() -> None:
    weightkit, completion, model = sys.argv[1:4]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    ours = [weightkit, "run", model, "--prompt", PROMPT, "--generate", "16", "--threads", "2"]
    theirs = [completion, "-m", model, "-p", PROMPT, "-n", "16", "-t", "2", "-no-cnv", "--no-display-prompt",
              "--temp", "0", "--no-warmup"]
    first_byte(ours), first_byte(theirs)  # page cache warm for both
    times = {"weightkit": [], "llama-completion": []}
    for _ in range(rounds):
        times["llama-completion"].append(first_byte(theirs))
        times["weightkit"].append(first_byte(ours))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(json.dumps({"prompt": PROMPT, "rounds": rounds, "median_seconds": medians,
                      "ratio_llama_over_weightkit": medians["llama-completion"] / medians["weightkit"],
                      "seconds": times}, indent=1))


if __name__ == "__main__":
    main()
