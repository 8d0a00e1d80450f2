#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/ (tests/fuzz/README in
docs/reliability.md, "Fuzzing"). Small on purpose (a few KB per target): libFuzzer grows its own
working copy (build-fuzz/corpus/, tools/fuzz.sh); these only give it valid starting points.

    python3 tests/fuzz/make_seed_corpus.py      # standard library only; deterministic

Sources: the golden inputs of tests/golden (config.json files minified, tokenizer.json files cut
down to a few dozen tokens, short chat templates) and files built here: safetensors files, GGUF
files (a 1-layer llama / mixtral / qwen2 with a byte-level or SentencePiece vocabulary, Q8_0 and
F32 tensors, a chat template) and GenerateRequest / ScoreRequest protos in wire format.
"""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOLDEN = os.path.join(ROOT, "tests", "golden")
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def minified(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --- safetensors ------------------------------------------------------------------------------
def safetensors(tensors, metadata=None):
    header, blob = {}, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    if metadata is not None:
        header["__metadata__"] = metadata
    h = minified(header).encode()
    return struct.pack("<Q", len(h)) + h + blob


def safetensors_seeds():
    f32 = struct.pack("<8f", *[i / 4 - 1 for i in range(8)])
    f16 = struct.pack("<3e", 0.5, -2.0, 65504.0)
    bf16 = bytes(range(128))  # [2, 32] bf16
    write("safetensors_header", "mixed_dtypes.safetensors",
          safetensors({"w.f32": ("F32", [2, 4], f32), "b.f16": ("F16", [3], f16), "m.bf16": ("BF16", [2, 32], bf16)},
                      {"format": "pt"}))
    write("safetensors_header", "empty_and_scalar.safetensors",
          safetensors({"empty": ("F32", [0, 4], b""), "scalar": ("F32", [], struct.pack("<f", 3.0))}))
    write("safetensors_header", "no_tensors.safetensors", safetensors({}, {}))


# --- config.json --------------------------------------------------------------------------------
def config_seeds():
    dirs = [os.path.join(GOLDEN, "models", m) for m in
            ("llama_gqa", "llama_tied", "mistral_window", "qwen2_layer_window", "mixtral_moe", "qwen2_moe",
             "mamba_tiny", "mamba2_tiny", "jamba_tiny")]
    dirs += [os.path.join(GOLDEN, "context_models", m) for m in
             ("bloom_alibi", "llama_yarn", "llama_longrope", "llama_llama3", "llama_dynamic", "llama_linear")]
    for d in dirs:
        with open(os.path.join(d, "config.json")) as f:
            write("model_config", os.path.basename(d) + ".json", minified(json.load(f)))


# --- tokenizer.json -----------------------------------------------------------------------------
def cut_tokenizer(path, keep):
    with open(path) as f:
        t = json.load(f)
    m = t["model"]
    vocab = m["vocab"]
    special = {a["content"] for a in t.get("added_tokens", [])}
    kept = {tok: i for tok, i in vocab.items() if len(tok) <= 2 or tok in special or tok.startswith("<0x")}
    kept = dict(sorted(kept.items(), key=lambda kv: kv[1])[:keep])
    merges = []
    for mg in m.get("merges", []):
        a, b = mg.split(" ", 1) if isinstance(mg, str) else mg
        if a in kept and b in kept and a + b in kept:
            merges.append(mg)
    m["vocab"], m["merges"] = kept, merges
    return t


def tokenizer_seeds():
    for name in ("gpt2", "llama2", "llama3", "qwen2", "metaspace", "misc"):
        t = cut_tokenizer(os.path.join(GOLDEN, "tokenizers", name, "tokenizer.json"), 60)
        text = minified(t)
        write("tokenizer_json", name + ".json", text)
        if name in ("llama3", "llama2"):
            write("tokenizer_json", name + "_with_text.json",
                  text + "\0" + "Hi <s> caf\u00e9 \U0001F600 12345\n\t x")
    # A minimal tokenizer: no normalizer / pre-tokenizer, four tokens, one merge.
    write("tokenizer_json", "minimal.json",
          minified({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<s>": 3}, "merges": ["a b"]},
                    "added_tokens": [{"id": 3, "content": "<s>", "special": True}]}))


def tokenize_seeds():
    samples = {
        "ascii.txt": "Hello, world! It's 2024; numbers 1234567 and   spaces.\n",
        "unicode.txt": "caf\u00e9 na\u00efve \u4e2d\u6587 \U0001F600\u200d\U0001F525 \u00c5\u0301 \ufb01",
        "special.txt": "<s>[INST] hi [/INST]</s><|endoftext|><|im_start|>user<|im_end|>",
        "whitespace.txt": "\t\t  \n\r\n   x  \u3000\u00a0y",
    }
    for name, text in samples.items():
        write("tokenize", name, text)
    write("tokenize", "invalid_utf8.bin", b"\xff\xfe\xc3(\xe2\x82 \xf0\x9f\x98 ok \x80\xbf\xed\xa0\x80")


# --- chat templates -----------------------------------------------------------------------------
def chat_seeds():
    for name in ("chatml-openhermes-2.5", "llama-3-8b-instruct", "smollm2-1.7b-instruct", "phi-3-mini",
                 "gemma-7b-it", "mixtral-8x7b-instruct", "llama-2-13b-chat", "deepseek-v2", "chatglm4"):
        shutil.copy(os.path.join(GOLDEN, "chat_templates", name + ".jinja"),
                    os.path.join(CORPUS, "chat_template", name + ".jinja"))
    write("chat_template", "constructs.jinja",
          "{% macro m(x, y=2) %}{{ x ~ y }}{% endmacro %}{% set ns = namespace(n=0) %}"
          "{% for msg in messages if msg.role != 'tool' %}{% set ns.n = ns.n + 1 %}"
          "{{ loop.index0 }}:{{ msg['role'] | upper }} {{ msg.content | trim | tojson }}"
          "{% if msg.tool_calls %}{{ msg.tool_calls[0].function.arguments | tojson }}{% endif %}"
          "{% else %}none{% endfor %}{{ m(ns.n) }}{{ tools | length if tools else 0 }}"
          "{%- if add_generation_prompt %}{{ '<|assistant|>' }}{% endif -%}"
          "{{ strftime_now('%Y-%m-%d') }}{% if false %}{{ raise_exception('no') }}{% endif %}")


# --- GGUF ---------------------------------------------------------------------------------------
T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR = 4, 5, 6, 7, 8, 9
G_F32, G_Q8_0 = 0, 8


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gvalue(t, v):
    if t == T_U32:
        return struct.pack("<I", v)
    if t == T_I32:
        return struct.pack("<i", v)
    if t == T_F32:
        return struct.pack("<f", v)
    if t == T_BOOL:
        return struct.pack("<B", 1 if v else 0)
    if t == T_STR:
        return gstr(v)
    et, items = v
    return struct.pack("<IQ", et, len(items)) + b"".join(gvalue(et, x) for x in items)


def tensor_bytes(gtype, dims, seed):
    n = 1
    for d in dims:
        n *= d
    if gtype == G_F32:
        return struct.pack("<%df" % n, *[((i * 37 + seed) % 17 - 8) / 16 for i in range(n)])
    blocks = n // 32
    return b"".join(struct.pack("<H", 0x2c00) + bytes(((i * 7 + seed + j) % 64) for j in range(32))
                    for i in range(blocks))


def gguf(kvs, tensors):
    """kvs: [(key, type, value)]; tensors: [(name, dims (innermost first), ggml type)]."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for key, t, v in kvs:
        out += gstr(key) + struct.pack("<I", t) + gvalue(t, v)
    data, infos = b"", b""
    for i, (name, dims, gtype) in enumerate(tensors):
        infos += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", gtype, len(data))
        data += tensor_bytes(gtype, dims, i)
        data += b"\0" * (-len(data) % 32)
    out += infos
    out += b"\0" * (-len(out) % 32)
    return out + data


def byte_level_vocab():
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + list("abcdehilnorstuw") + \
             ["\u0120", "\u010a", "\u0120a", "he", "ll", "\u0120t", "er", "in", "\u0120he", "hell", "hello"]
    merges = ["\u0120 a", "h e", "l l", "\u0120 t", "e r", "i n", "\u0120 he", "he ll", "hell o"]
    types = [3, 3, 3] + [1] * (len(tokens) - 3)
    return [("tokenizer.ggml.model", T_STR, "gpt2"), ("tokenizer.ggml.pre", T_STR, "smollm"),
            ("tokenizer.ggml.tokens", T_ARR, (T_STR, tokens)),
            ("tokenizer.ggml.token_type", T_ARR, (T_I32, types)),
            ("tokenizer.ggml.merges", T_ARR, (T_STR, merges)),
            ("tokenizer.ggml.bos_token_id", T_U32, 1), ("tokenizer.ggml.eos_token_id", T_U32, 2),
            ("tokenizer.ggml.add_bos_token", T_BOOL, False)], len(tokens)


def spm_vocab():
    tokens = ["<unk>", "<s>", "</s>", "<0x0A>", "<0xC3>", "<0xA9>", "\u2581", "a", "b", "h", "i",
              "\u2581a", "\u2581h", "\u2581hi", "ab"]
    scores = [0.0, 0.0, 0.0] + [0.0] * 3 + [-float(i) for i in range(len(tokens) - 6)]
    types = [2, 3, 3, 6, 6, 6] + [1] * (len(tokens) - 6)
    return [("tokenizer.ggml.model", T_STR, "llama"), ("tokenizer.ggml.tokens", T_ARR, (T_STR, tokens)),
            ("tokenizer.ggml.scores", T_ARR, (T_F32, scores)),
            ("tokenizer.ggml.token_type", T_ARR, (T_I32, types)),
            ("tokenizer.ggml.bos_token_id", T_U32, 1), ("tokenizer.ggml.eos_token_id", T_U32, 2),
            ("tokenizer.ggml.unknown_token_id", T_U32, 0)], len(tokens)


def model_gguf(arch, vocab_kvs, vocab, experts=0, bias=False, template=None):
    H, heads, kv_heads, ff = 32, 2, 1, 32
    kvs = [("general.architecture", T_STR, arch), ("general.alignment", T_U32, 32),
           (arch + ".embedding_length", T_U32, H), (arch + ".block_count", T_U32, 1),
           (arch + ".attention.head_count", T_U32, heads), (arch + ".attention.head_count_kv", T_U32, kv_heads),
           (arch + ".context_length", T_U32, 64), (arch + ".feed_forward_length", T_U32, ff),
           (arch + ".attention.layer_norm_rms_epsilon", T_F32, 1e-5), (arch + ".rope.freq_base", T_F32, 10000.0)]
    if experts:
        kvs += [(arch + ".expert_count", T_U32, experts), (arch + ".expert_used_count", T_U32, 1)]
        if arch == "qwen2moe":
            kvs += [(arch + ".expert_feed_forward_length", T_U32, ff)]
    kvs += vocab_kvs
    if template:
        kvs.append(("tokenizer.chat_template", T_STR, template))
    kv_dim = H // heads * kv_heads
    t = [("token_embd.weight", [H, vocab], G_Q8_0), ("output_norm.weight", [H], G_F32),
         ("blk.0.attn_norm.weight", [H], G_F32), ("blk.0.ffn_norm.weight", [H], G_F32),
         ("blk.0.attn_q.weight", [H, H], G_Q8_0), ("blk.0.attn_k.weight", [H, kv_dim], G_Q8_0),
         ("blk.0.attn_v.weight", [H, kv_dim], G_Q8_0), ("blk.0.attn_output.weight", [H, H], G_Q8_0)]
    if bias:
        t += [("blk.0.attn_q.bias", [H], G_F32), ("blk.0.attn_k.bias", [kv_dim], G_F32),
              ("blk.0.attn_v.bias", [kv_dim], G_F32)]
    if experts:
        t += [("blk.0.ffn_gate_inp.weight", [H, experts], G_F32), ("blk.0.ffn_gate_exps.weight", [H, ff, experts], G_Q8_0),
              ("blk.0.ffn_up_exps.weight", [H, ff, experts], G_Q8_0), ("blk.0.ffn_down_exps.weight", [ff, H, experts], G_Q8_0)]
    else:
        t += [("blk.0.ffn_gate.weight", [H, ff], G_Q8_0), ("blk.0.ffn_up.weight", [H, ff], G_Q8_0),
              ("blk.0.ffn_down.weight", [ff, H], G_Q8_0)]
    return gguf(kvs, t)


def gguf_seeds():
    shutil.copy(os.path.join(GOLDEN, "gguf", "tiny.gguf"), os.path.join(CORPUS, "gguf", "tiny.gguf"))
    with open(os.path.join(GOLDEN, "chat_templates", "chatml-openhermes-2.5.jinja")) as f:
        chatml = f.read()
    bl, n_bl = byte_level_vocab()
    spm, n_spm = spm_vocab()
    write("gguf", "llama_byte_level_chat.gguf", model_gguf("llama", bl, n_bl, template=chatml))
    write("gguf", "llama_spm.gguf", model_gguf("llama", spm, n_spm))
    write("gguf", "mixtral_2_experts.gguf", model_gguf("llama", spm, n_spm, experts=2))
    write("gguf", "qwen2_bias.gguf", model_gguf("qwen2", bl, n_bl, bias=True))
    write("gguf", "vocab_only_spm.gguf", gguf([("general.architecture", T_STR, "llama")] + spm, []))


# --- protos (wire format) -----------------------------------------------------------------------
def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def f_varint(field, n):
    return varint(field << 3) + varint(n)


def f_bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(field << 3 | 2) + varint(len(b)) + b


def f_float(field, x):
    return varint(field << 3 | 5) + struct.pack("<f", x)


def f_double(field, x):
    return varint(field << 3 | 1) + struct.pack("<d", x)


def f_packed(field, ints):
    return f_bytes(field, b"".join(varint(i) for i in ints))


def request_seeds():
    sampling = (f_float(1, 0.7) + f_float(2, 0.9) + f_varint(3, 40) + f_float(4, 0.05) + f_varint(5, 7) +
                f_float(6, 1.1) + f_float(7, 0.5) + f_float(8, -0.5) + f_bytes(9, f_varint(1, 5) + f_float(2, 2.5)))
    write("generate_request", "prompt_sampling.pb",
          f_bytes(1, "req-1") + f_bytes(2, "Once upon a time") + f_varint(4, 8) + f_bytes(5, sampling) +
          f_bytes(6, "\n\n") + f_packed(7, [1, 2]) + f_varint(9, 3) + f_varint(10, 2) + f_varint(11, 1) +
          f_varint(12, 0) + f_varint(13, 0))
    write("generate_request", "token_ids_greedy.pb",
          f_packed(3, [0, 5, 17, 300, 1023]) + f_varint(4, 4) + f_bytes(5, f_float(1, 0.0)) + f_varint(8, 1))
    attention = [
        f_bytes(1, "sliding_window") + f_varint(2, 4),
        f_bytes(1, "sinks") + f_varint(3, 2) + f_varint(2, 8),
        f_bytes(1, "longformer") + f_varint(2, 4) + f_varint(6, 1) + f_packed(7, [3]),
        f_bytes(1, "bigbird") + f_varint(8, 4) + f_varint(9, 1) + f_varint(10, 1) + f_varint(11, 1) + f_varint(12, 9),
        f_bytes(1, "quest") + f_varint(13, 2) + f_varint(2, 16),
        f_bytes(1, "performer") + f_varint(14, 16) + f_varint(15, 2),
        f_bytes(1, "transformer_xl") + f_varint(4, 8) + f_varint(5, 1),
    ]
    for i, a in enumerate(attention):
        write("generate_request", "attention_%d.pb" % i, f_bytes(2, "The quick brown fox") + f_bytes(14, a))
    context = [
        f_bytes(1, "yarn") + f_double(2, 4.0) + f_varint(3, 512) + f_double(4, 32) + f_double(5, 1) + f_varint(13, 1),
        f_bytes(1, "longrope") + f_double(2, 2.0) + f_bytes(9, struct.pack("<16d", *[1.0] * 16)) +
        f_bytes(10, struct.pack("<16d", *[2.0] * 16)),
        f_bytes(1, "llama3") + f_double(2, 8.0) + f_double(7, 1.0) + f_double(8, 4.0),
        f_bytes(1, "sinks") + f_varint(11, 4) + f_varint(12, 60),
        f_bytes(1, "dynamic_ntk") + f_double(2, 2.0),
    ]
    for i, c in enumerate(context):
        write("generate_request", "context_%d.pb" % i, f_bytes(2, "Hello there") + f_varint(4, 16) + f_bytes(15, c))
    call = f_bytes(1, "call1") + f_bytes(2, "get_weather") + f_bytes(3, '{"city": "Zurich"}')
    messages = (f_bytes(16, f_bytes(1, "system") + f_bytes(2, "Be brief.")) +
                f_bytes(16, f_bytes(1, "user") + f_bytes(2, "Weather?")) +
                f_bytes(16, f_bytes(1, "assistant") + f_bytes(5, call)) +
                f_bytes(16, f_bytes(1, "tool") + f_bytes(2, "3 C") + f_bytes(4, "call1")) +
                f_bytes(16, f_bytes(1, "user") + f_bytes(2, "Thanks") + f_bytes(3, "bob")))
    write("generate_request", "chat_messages.pb",
          messages + f_varint(17, 1) + f_bytes(18, '[{"type":"function","function":{"name":"get_weather"}}]') +
          f_bytes(19, '{"enable_thinking": false}'))
    # Read as a ScoreRequest: token_ids, return_logits, attention.
    write("generate_request", "score_like.pb",
          f_packed(1, [0, 1, 2, 3]) + f_varint(2, 1) + f_bytes(5, f_bytes(1, "full")))


def openai_seeds():
    seeds = {
        "completion.json": {"model": "tiny-llama", "prompt": "Once upon a time", "max_tokens": 8,
                            "temperature": 0.7, "top_p": 0.9, "n": 2, "seed": 3, "stop": ["\n", "END"],
                            "logprobs": 2, "echo": False, "presence_penalty": 0.5, "logit_bias": {"5": -100}},
        "completion_batch.json": {"prompt": [[0, 5, 17], "two", [9]], "max_tokens": 4, "stream": True,
                                  "stream_options": {"include_usage": True, "continuous_usage_stats": True}},
        "chat.json": {"model": "tiny-llama", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "2"}],
            "max_completion_tokens": 16, "logprobs": True, "top_logprobs": 3, "frequency_penalty": -0.5,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "chat_template_kwargs": {"enable_thinking": False}, "add_generation_prompt": True},
        "vllm_extras.json": {"prompt": "x", "top_k": 20, "min_p": 0.1, "repetition_penalty": 1.2,
                             "stop_token_ids": [1], "ignore_eos": True, "skip_special_tokens": False,
                             "attention": {"backend": "sliding_window", "window": 4},
                             "context_policy": {"kind": "dynamic_ntk", "factor": 2}, "priority": -1, "include_stop_str_in_output": False},
    }
    for name, body in seeds.items():
        write("openai_request", name, json.dumps(body, ensure_ascii=False))


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    for t in ("safetensors_header", "model_config", "tokenizer_json", "tokenize", "gguf", "chat_template",
              "generate_request", "openai_request"):
        os.makedirs(os.path.join(CORPUS, t), exist_ok=True)
    safetensors_seeds()
    config_seeds()
    tokenizer_seeds()
    tokenize_seeds()
    chat_seeds()
    gguf_seeds()
    request_seeds()
    openai_seeds()
    total = 0
    for t in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, t))
        size = sum(os.path.getsize(os.path.join(CORPUS, t, f)) for f in files)
        total += size
        print("%-20s %3d files %7d bytes" % (t, len(files), size))
    print("%-20s           %7d bytes" % ("total", total))


if __name__ == "__main__":
    main()
