#!/usr/bin/env python3
"""Generates tests/golden/gguf_vocab/: vocab-only GGUF files and the ids transformers gives on them.

From the golden tokenizer.json files (tests/golden/tokenizers/<kind>/, see make_tokenizer_golden.py)
this writes <name>.gguf with gguf's GGUFWriter as llama.cpp's convert_hf_to_gguf.py would:
tokenizer.ggml.model "gpt2" (tokens in the byte alphabet, token types, merges, tokenizer.ggml.pre)
or "llama" (SentencePiece pieces, scores, no merges: they are derived from the scores), special ids,
add_bos / add_eos. The reference is transformers loading that GGUF
(AutoTokenizer.from_pretrained(dir, gguf_file=name)); agreement with the source tokenizer.json
(through `tokenizers`) is printed per vocab. cases.json: per vocab, per text, ids with and without
special tokens and the decode of those ids with skip_special_tokens false / true.

The "starcoder" vocab and SmolLM2 (pre "smollm") take transformers' tokenizer with each digit
isolated first, as llama.cpp and those models' own tokenizer.json pre-tokenize.
--smollm2 PATH also writes smollm2_cases.json: transformers' ids on the real SmolLM2 GGUF (the file
itself is not committed; the C++ test opens the one $ATTNSERVE_SMOLLM2_GGUF names).

Usage: /tmp/venv/bin/python tools/make_gguf_vocab_golden.py [--out tests/golden/gguf_vocab]
           [--smollm2 /root/.cache/attnserve/models/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import argparse
import json
import os

import gguf
import tokenizers
import transformers

TEXTS = [
    "", " ", "  ", "\n", "\n\n\n", "\t", "Hello world", " Hello world", "Hello  world   !",
    "hello\nworld\n\n  indented\n\tTabbed", "trailing spaces   ", "   leading spaces",
    "I'm can't we've they'll she'd it's YOU'RE I'M", "don't DON'T o'clock",
    "1234567890 3.14159 1,000,000 2024-01-15 12:30:45 $99.99", "a1b22c333d4444",
    "Le café est très bon. Crème brûlée, naïve façade", "Привет, мир! Καλημέρα κόσμε",
    "日本語のテキストです。中文：你好，世界！한국어: 안녕하세요", "Emoji: 😀 😂 👍 🎉 ❤️ 👨‍👩‍👧‍👦 🇫🇷 👋🏽",
    "“quotes” ‘single’ … « guillemets » — dash", "def f(x):\n    return x**2 + 1  # comment\n",
    "<html><body class=\"x\">&amp;</body></html>", "e\u0301 vs \u00e9 (combining accent)",
    "ＦＵＬＬ width ﬁ ligature ½ ² ③", "The quick brown fox jumps over the lazy dog.",
    "zero\u200bwidth\u00a0nbsp", "!!!???...,,,;;;", "   \n   \n", "a" * 40,
]

KINDS = [  # (name, tokenizer.json kind, ggml model, ggml pre)
    ("gpt2", "gpt2", "gpt2", "gpt-2"),
    ("gpt2_default", "gpt2", "gpt2", "default"),
    ("llama3", "llama3", "gpt2", "llama-bpe"),
    ("qwen2", "qwen2", "gpt2", "qwen2"),
    ("starcoder", "gpt2", "gpt2", "starcoder"),
    ("llama2", "llama2", "llama", None),
    ("metaspace", "metaspace", "llama", None),
]


def special_texts(added):
    """Texts with the vocab's added tokens inside them."""
    names = [a["content"] for a in added]
    joined = "".join(names)
    return [f"{names[0]}Hello{names[-1]} world", f"x {joined} y", f" {names[-1]}  {names[0]}\n", joined]


def write_gguf(path, tok_json, model, pre, add_bos, add_eos):
    vocab = tok_json["model"]["vocab"]
    added = {a["id"]: a for a in tok_json["added_tokens"]}
    n = max(list(vocab.values()) + list(added)) + 1
    tokens, types, scores = [f"[PAD{i}]" for i in range(n)], [gguf.TokenType.UNUSED] * n, [0.0] * n
    for t, i in vocab.items():
        tokens[i], types[i], scores[i] = t, gguf.TokenType.NORMAL, -float(i)
    for i, a in added.items():
        tokens[i] = a["content"]
        types[i] = gguf.TokenType.CONTROL if a["special"] else gguf.TokenType.USER_DEFINED
        scores[i] = 0.0
    if model == "llama":
        for i, t in enumerate(tokens):
            if len(t) == 6 and t.startswith("<0x") and t.endswith(">"):
                types[i], scores[i] = gguf.TokenType.BYTE, 0.0
        unk = tok_json["model"].get("unk_token")
        if unk is not None:
            types[vocab[unk]] = gguf.TokenType.UNKNOWN
    w = gguf.GGUFWriter(path, "llama")
    w.add_context_length(64)
    w.add_block_count(1)
    w.add_embedding_length(8)
    w.add_feed_forward_length(16)
    w.add_head_count(2)
    w.add_tokenizer_model(model)
    if pre is not None:
        w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    if model == "gpt2":
        w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in tok_json["model"]["merges"]])
    else:
        w.add_token_scores(scores)
        w.add_add_space_prefix(True)
    by_name = {t: i for i, t in enumerate(tokens)}
    specials = [a["content"] for a in tok_json["added_tokens"] if a["special"]]
    if model == "llama":
        w.add_unk_token_id(by_name["<unk>"])
        w.add_bos_token_id(by_name["<s>"])
        w.add_eos_token_id(by_name["</s>"])
    else:
        w.add_bos_token_id(by_name[specials[0]])
        w.add_eos_token_id(by_name[specials[min(1, len(specials) - 1)]])
    if add_bos is not None:
        w.add_add_bos_token(add_bos)
    if add_eos is not None:
        w.add_add_eos_token(add_eos)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def reference_cases(directory, name, texts, source=None, digits_first=False):
    tok = transformers.AutoTokenizer.from_pretrained(directory, gguf_file=name)
    backend = tok.backend_tokenizer
    if digits_first:
        # llama.cpp's StarCoder-family pre-tokenizers (and those models' tokenizer.json) isolate
        # each digit before the GPT-2 regex; transformers' GGUF loader leaves that out.
        backend.pre_tokenizer = tokenizers.pre_tokenizers.Sequence([
            tokenizers.pre_tokenizers.Digits(individual_digits=True),
            tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    cases, agree = [], 0
    for text in texts:
        ids = tok.encode(text, add_special_tokens=True)
        plain = tok.encode(text, add_special_tokens=False)
        assert backend.encode(text, add_special_tokens=True).ids == ids, (name, text)
        cases.append({"text": text, "ids": ids, "ids_no_special": plain,
                      "decode": backend.decode(ids, skip_special_tokens=False),
                      "decode_skip": backend.decode(ids, skip_special_tokens=True)})
        if source is not None:
            agree += source.encode(text, add_special_tokens=False).ids == plain
    return cases, agree


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/golden/gguf_vocab")
    ap.add_argument("--tokenizers", default="tests/golden/tokenizers")
    ap.add_argument("--smollm2")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out = {}
    for name, kind, model, pre in KINDS:
        src = os.path.join(args.tokenizers, kind, "tokenizer.json")
        tok_json = json.load(open(src))
        fname = f"{name}.gguf"
        # gpt2 models: no BOS unless the key says so (llama3 says so); llama: BOS by default.
        add_bos = {"llama3": True, "qwen2": False, "metaspace": None}.get(name, None if model == "llama" else None)
        add_eos = True if name == "metaspace" else None
        write_gguf(os.path.join(args.out, fname), tok_json, model, pre, add_bos, add_eos)
        texts = TEXTS + special_texts(tok_json["added_tokens"])
        cases, agree = reference_cases(args.out, fname, texts, tokenizers.Tokenizer.from_file(src),
                                       digits_first=pre == "starcoder")
        print(f"{name}: {agree}/{len(texts)} texts give the source tokenizer.json's ids")
        out[fname] = cases
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)
    if args.smollm2:
        d, f = os.path.split(args.smollm2)
        texts = TEXTS + ["<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\n", "<|endoftext|>x",
                         "Call 555-1234 or 2 apples and 33 pears in 1999."]
        cases, _ = reference_cases(d, f, texts, digits_first=True)
        with open(os.path.join(args.out, "smollm2_cases.json"), "w") as fh:
            json.dump({"file": f, "cases": cases}, fh, ensure_ascii=False, indent=0)
        print(f"smollm2: {len(cases)} cases")


if __name__ == "__main__":
    main()
