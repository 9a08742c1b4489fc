"""Text in, text out: transformers' tokenisation, chat rendering and greedy generation with stop
conditions, for `weightkit run --prompt/--chat/--stop/--ctx`.

Fixtures/textgen/qwen3-chat/ is the tiny random Qwen3 of Fixtures/models/qwen3-tiny with a
chat-ready tokenizer: `<|im_start|>` and `<|im_end|>` added as special tokens (ids 300 and 301; ids
302-319, the rest of the model's rows, as reserved special tokens), Qwen3-0.6B's chat template (from llama.cpp's collection in the
llama-cpp-python 0.3.36 sdist), and a generation_config.json whose eos_token_id lists
`<|im_end|>` and one ordinary token that greedy decoding reaches a few steps in, so that
stopping at an end-of-generation id is exercised. reference.json records, from transformers 5:

- plain: the prompt's ids (`tokenizer(text)`), greedy tokens with the end of generation
  disabled (`eos_token_id=None`) and with the directory's generation_config (stops at eos; the
  eos id is the last token), and the decoded texts (`skip_special_tokens=False`).
- chat: `apply_chat_template(messages, add_generation_prompt=True, enable_thinking=False)` ids
  and its greedy tokens with the generation_config's eos.
- stop: `generate(stop_strings=[s])` tokens for a two-character string of the plain text.
- context: the first `ctx - len(prompt)` greedy tokens (eos disabled).
"""
import json
import pathlib
import shutil

import torch

from .common import llama_cpp_dir, write_json

PLAIN = "<|im_start|>The quick brown fox"
SYSTEM = "You are terse."
USER = "Name a weight file format."
NEW_TOKENS = 12


def generate(root: pathlib.Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    source = root / "models" / "qwen3-tiny"
    out = root / "textgen" / "qwen3-chat"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(source / name, out / name)
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    # The model has 320 rows: the ids past the chat tokens are reserved specials, as real
    # models pad their vocabularies, so that every id the model can produce decodes.
    reserved = [f"<|reserved_{i}|>" for i in range(320 - 302)]
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"] + reserved})
    assert tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"]) == [300, 301] and len(tokenizer) == 320
    template_dir = llama_cpp_dir().resolve() / "models" / "templates"
    tokenizer.chat_template = (template_dir / "Qwen-Qwen3-0.6B.jinja").read_text()
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.save_pretrained(str(out))

    model = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).eval()

    def greedy(ids, **kwargs):
        with torch.no_grad():
            result = model.generate(torch.tensor([ids]), do_sample=False, max_new_tokens=NEW_TOKENS,
                                    pad_token_id=0, **kwargs)
        return result[0, len(ids):].tolist()

    plain_ids = tokenizer(PLAIN)["input_ids"]
    free = greedy(plain_ids, eos_token_id=None)
    # The end-of-generation id: the first token, three or more steps in, not seen before.
    eos = next((t for i, t in enumerate(free) if i >= 3 and t not in free[:i]), free[-1])
    GenerationConfig(eos_token_id=[301, eos], bos_token_id=None, pad_token_id=0).save_pretrained(str(out))
    model.generation_config = GenerationConfig.from_pretrained(str(out))

    stopped = greedy(plain_ids)
    free_text = tokenizer.decode(free, skip_special_tokens=False)
    # A stop string: two characters of the free-running text, none of them a replacement
    # character, first occurring after the first character.
    stop = next(free_text[i:i + 2] for i in range(1, len(free_text) - 1)
                if "\ufffd" not in free_text[i:i + 2] and free_text.find(free_text[i:i + 2]) == i)
    stop_tokens = greedy(plain_ids, eos_token_id=None, stop_strings=[stop], tokenizer=tokenizer)
    stop_text = tokenizer.decode(stop_tokens, skip_special_tokens=False)
    stop_text = stop_text[:stop_text.index(stop)]

    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
    chat_ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                             enable_thinking=False, return_dict=False)
    chat_text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False,
                                              enable_thinking=False)
    chat_tokens = greedy(chat_ids)

    context = len(plain_ids) + 5
    write_json(out / "reference.json", {
        "plain": {
            "prompt": PLAIN, "prompt_ids": plain_ids,
            "free_tokens": free, "free_text": free_text,
            "eos_tokens": stopped,
            "eos_text": tokenizer.decode(stopped[:-1] if stopped[-1] in (301, eos) else stopped, skip_special_tokens=False),
            "eos_stopped": stopped[-1] in (301, eos),
        },
        "eos_token_ids": [301, eos],
        "stop": {"string": stop, "tokens": stop_tokens, "text": stop_text},
        "chat": {"system": SYSTEM, "user": USER, "prompt_ids": chat_ids, "rendered": chat_text, "tokens": chat_tokens,
                 "eos_stopped": chat_tokens[-1] in (301, eos)},
        "context": {"ctx": context, "tokens": free[:context - len(plain_ids)]},
    })
    print(f"   textgen/qwen3-chat: eos {eos} after {stopped.index(eos) + 1 if eos in stopped else '-'} tokens, stop {stop!r}")
