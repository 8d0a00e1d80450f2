#!/usr/bin/env python3
"""Generates the tokenizer golden data in tests/golden/tokenizers/<kind>/.

With the Hugging Face `tokenizers` library this script TRAINS small tokenizers (vocab ~800) shaped
like the real ones attnserve serves (GPT-2, Llama-3, Qwen2, Llama-2/Mistral SentencePiece-BPE, a
Metaspace BPE, and a "misc" one exercising the less common components), saves each tokenizer.json,
and records for ~45 tricky strings: encode ids with and without special tokens, and decode of those
ids with skip_special_tokens true/false; plus decode of odd id lists (split multi-byte characters).

Usage: python3 tools/make_tokenizer_golden.py [--out tests/golden/tokenizers]
       python3 tools/make_tokenizer_golden.py --diff build/bin/attnserve_tokenize_cli \
           [--tokenizer a/tokenizer.json ...] [--count 2000]
The --diff mode fuzzes the C++ tokenizer (via the attnserve_tokenize_cli tool) against the
library on random strings, for the golden tokenizers or any tokenizer.json given.
"""
import argparse
import glob
import json
import os
import random
import subprocess

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import BPE
from tokenizers.trainers import BpeTrainer

GPT2_PATTERN = None  # ByteLevel(use_regex=True) has the GPT-2 regex built in.
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

UNICODE_CORPUS = """
Le café est très bon. Crème brûlée, naïve façade, coöperate, Ærøskøbing, São Paulo, Zürich.
Der Straßenverkehr in München ist übermäßig. Ελληνικά: Καλημέρα κόσμε. Русский: Привет, мир!
日本語のテキストです。東京は大きい都市です。中文：你好，世界！我们今天去北京。한국어: 안녕하세요 세계.
العربية: مرحبا بالعالم. עברית: שלום עולם. हिन्दी: नमस्ते दुनिया। ไทย: สวัสดีชาวโลก
Emoji: 😀 😂 👍 🎉 ❤️ 👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷 👋🏽 — “quotes” ‘single’ … « guillemets »
Numbers: 1234567890 3.14159 1,000,000 2024-01-15 12:30:45 $99.99 €50 ½ ² ③
Code: def f(x):\n\treturn x**2  # comment\nif (a && b) { printf("%d\\n", i); }
I'm, you're, he's, we've, they'll, I'd, don't, CAN'T, WON'T, It'S, We'Re.
"""


def corpus_lines():
    lines = []
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, encoding="utf-8", errors="ignore") as f:
                lines.extend(f.read().splitlines())
    lines = lines[:6000]
    unicode_lines = UNICODE_CORPUS.strip().splitlines()
    return lines + unicode_lines * 30


CASES = [
    "",
    "Hello world",
    "Hello, world! How are you today?",
    " leading space",
    "   three leading spaces",
    "trailing spaces   ",
    "multiple    internal     spaces",
    "tabs\tand\ttabs\t\t",
    "new\nlines\n\n\nand\r\nCRLF",
    " \n \t ",
    "don't stop, I'M here, you're right, they'll go, it's O'Neil's",
    "CAN'T WON'T SHOULDN'T We'Ve",
    "Numbers: 1 12 123 1234 12345 3.14159 -42 1,000,000",
    "日本語のテキスト",
    "你好，世界！我们去北京。",
    "안녕하세요 세계",
    "مرحبا بالعالم",
    "Привет, мир! Ελληνικά",
    "café naïve résumé",
    "cafe\u0301 nai\u0308ve re\u0301sume\u0301",
    "Emoji 😀😂👍🎉",
    "family 👨‍👩‍👧‍👦 and flag 🏳️‍🌈 and 🇫🇷 wave 👋🏽",
    "rare chars: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ☃ ⌘ ꙮ 𓀀",
    "<s>",
    "<s>Hello</s>",
    "Hello <s> world </s> end",
    "<|endoftext|>",
    "text<|endoftext|>more text",
    "<|begin_of_text|>system<|eot_id|>",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "an <extra> token and <extra>glued<extra>",
    "spaced   <extra>   token",
    "def f(x):\n    return x ** 2  # square\n",
    "if (a && b) { printf(\"%d\\n\", i); }",
    "http://example.com/path?q=1&r=2#frag",
    "supercalifragilistic supercalifragilistic!",
    "ALL CAPS SENTENCE WITH WORDS",
    "mIxEd CaSe WoRdS",
    "ſ long s and K kelvin",
    "\u00a0non-breaking\u00a0spaces\u2003em\u3000ideographic",
    "zero\u200bwidth\u200djoiner",
    "a",
    "▁already▁has▁metaspace",
    "The quick brown fox jumps over the lazy dog. " * 3,
    "Ünïcödé ÀÉÎÕÜ İstanbul ΣΊΣΥΦΟΣ",
]


def add_extra_vocab(tok_json, words):
    """Adds whole-word vocab entries that no merge produces (exercises ignore_merges / model)."""
    vocab = tok_json["model"]["vocab"]
    next_id = max(max(vocab.values()), max([t["id"] for t in tok_json["added_tokens"]] or [0])) + 1
    assert next_id == len(vocab), "extra vocab must be added before non-vocab added tokens"
    for w in words:
        if w not in vocab:
            vocab[w] = next_id
            next_id += 1


def legacy_merges(tok_json):
    """Rewrites merges from [["a","b"]] arrays to the older "a b" strings."""
    tok_json["model"]["merges"] = [m if isinstance(m, str) else f"{m[0]} {m[1]}"
                                   for m in tok_json["model"]["merges"]]


def train(tokenizer, vocab_size, special_tokens, alphabet=None):
    trainer = BpeTrainer(vocab_size=vocab_size, special_tokens=special_tokens,
                         initial_alphabet=alphabet or [], show_progress=False)
    tokenizer.train_from_iterator(corpus_lines(), trainer=trainer)
    return tokenizer


def build_gpt2():
    tok = Tokenizer(BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    train(tok, 800, ["<|endoftext|>"], pre_tokenizers.ByteLevel.alphabet())
    tok.add_tokens([AddedToken("<extra>", normalized=False, special=False)])
    j = json.loads(tok.to_str())
    legacy_merges(j)
    return j


def build_llama3():
    tok = Tokenizer(BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    train(tok, 900, ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"],
          pre_tokenizers.ByteLevel.alphabet())
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(
            single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
            special_tokens=[("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))])])
    j = json.loads(tok.to_str())
    # "Ġsupercalifragilistic" is in the vocab but no merge sequence builds it.
    add_extra_vocab(j, ["Ġsupercalifragilistic", "supercalifragilistic", "ĠWORDS"])
    tok = Tokenizer.from_str(json.dumps(j))
    tok.add_tokens([AddedToken("<extra>", normalized=False, special=False, lstrip=True, rstrip=True)])
    return json.loads(tok.to_str())


def build_qwen2():
    tok = Tokenizer(BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    train(tok, 900, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
          pre_tokenizers.ByteLevel.alphabet())
    tok.add_tokens([AddedToken("<extra>", normalized=True, special=False)])
    return json.loads(tok.to_str())


def sentencepiece_like(tok_json):
    """Reorders the vocab like a SentencePiece conversion: <unk>,<s>,</s>, <0x00>..<0xFF>, rest."""
    model = tok_json["model"]
    old = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    specials = ["<unk>", "<s>", "</s>"]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    new_vocab = {}
    for t in specials + byte_tokens:
        new_vocab[t] = len(new_vocab)
    for t, _ in old:
        if t not in new_vocab:
            new_vocab[t] = len(new_vocab)
    model["vocab"] = new_vocab
    remap = {t: new_vocab[t] for t in new_vocab}
    for at in tok_json["added_tokens"]:
        at["id"] = remap[at["content"]]
    return tok_json


def build_llama2():
    # Train with a Metaspace split (sentencepiece never merges across words), then serve it the way
    # the HF Llama-2 conversion does: Prepend+Replace normalizer and no pre-tokenizer.
    tok = Tokenizer(BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True)
    train(tok, 900, ["<unk>", "<s>", "</s>"])
    j = json.loads(tok.to_str())
    j["pre_tokenizer"] = None
    j["decoder"] = json.loads(decoders.Sequence([
        decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
        decoders.Strip(content=" ", left=1, right=0)]).__getstate__())
    sentencepiece_like(j)
    for at in j["added_tokens"]:
        at["normalized"] = False
    j["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    legacy_merges(j)
    tok = Tokenizer.from_str(json.dumps(j))
    # A normalized added token: matched against the normalized text (so as "▁<extra>").
    tok.add_tokens([AddedToken("<extra>", normalized=True, special=False)])
    return json.loads(tok.to_str())


def build_metaspace():
    tok = Tokenizer(BPE(unk_token="<unk>", byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    train(tok, 900, ["<unk>", "<s>", "</s>"])
    j = json.loads(tok.to_str())
    sentencepiece_like(j)
    j["decoder"] = json.loads(decoders.Sequence([
        decoders.ByteFallback(), decoders.Metaspace(replacement="▁", prepend_scheme="first")]).__getstate__())
    j["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> $B </s>",
        special_tokens=[("<s>", 1), ("</s>", 2)]).__getstate__())
    tok = Tokenizer.from_str(json.dumps(j))
    tok.add_tokens([AddedToken("<extra>", normalized=False, special=False, lstrip=True)])
    return json.loads(tok.to_str())


def build_misc():
    # Less common pieces: NFKD+Lowercase+Strip+Replace(regex) normalizer, Whitespace/Digits/Punctuation
    # pre-tokenizers, continuing_subword_prefix + end_of_word_suffix, unk without fuse,
    # single_word added token, RobertaProcessing, Replace+Strip decoders.
    tok = Tokenizer(BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFKD(), normalizers.Lowercase(), normalizers.Strip(left=True, right=True),
        normalizers.Replace(Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Punctuation(behavior="isolated")])
    trainer = BpeTrainer(vocab_size=700, special_tokens=["[UNK]", "[CLS]", "[SEP]"],
                         continuing_subword_prefix="##", end_of_word_suffix="</w>",
                         show_progress=False)
    # A small alphabet so that many characters are unknown.
    tok.train_from_iterator([l for l in corpus_lines() if l.isascii()], trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(("[SEP]", 2), ("[CLS]", 1))
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    tok.add_tokens([AddedToken("<extra>", single_word=True, normalized=False, special=False)])
    return json.loads(tok.to_str())


def decode_cases(tok, rng):
    """Id lists that split multi-byte characters, repeat specials, or are out of range."""
    out = []
    texts = ["😀👍 日本", "é café", "👨‍👩‍👧", "<s>x</s>", "<|endoftext|>hi"]
    for text in texts:
        ids = tok.encode(text, add_special_tokens=False).ids
        for _ in range(3):
            if len(ids) > 1:
                a = rng.randrange(0, len(ids))
                b = rng.randrange(a + 1, len(ids) + 1)
                out.append(ids[a:b])
        out.append(list(reversed(ids)))
    vocab_size = tok.get_vocab_size(with_added_tokens=True)
    for _ in range(12):
        out.append([rng.randrange(0, vocab_size) for _ in range(rng.randrange(1, 12))])
    out.append([])
    return [{"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
             "decoded_skip": tok.decode(ids, skip_special_tokens=True)} for ids in out]


def write_kind(out_dir, kind, tok_json):
    d = os.path.join(out_dir, kind)
    os.makedirs(d, exist_ok=True)
    text = json.dumps(tok_json, ensure_ascii=False, separators=(",", ":"))
    tok = Tokenizer.from_str(text)
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(text)
    cases = []
    for s in CASES:
        with_sp = tok.encode(s, add_special_tokens=True).ids
        no_sp = tok.encode(s, add_special_tokens=False).ids
        cases.append({"text": s, "ids": with_sp, "ids_no_special": no_sp,
                      "decoded": tok.decode(with_sp, skip_special_tokens=False),
                      "decoded_skip": tok.decode(with_sp, skip_special_tokens=True)})
    rng = random.Random(hash(kind) & 0xFFFF if False else sum(map(ord, kind)))
    golden = {"tokenizers_version": tokenizers.__version__, "kind": kind,
              "vocab_size": tok.get_vocab_size(with_added_tokens=True),
              "cases": cases, "decode_cases": decode_cases(tok, rng)}
    with open(os.path.join(d, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=0)
    print(f"{kind}: vocab {golden['vocab_size']}, {len(cases)} cases")


FUZZ_POOLS = [
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    ["the", "The", " the", "hello", "world", "don", "I", "tokenizer", "WORDS", "supercalifragilistic"],
    list("0123456789"), ["123", "4567", "3.14", "1,000"],
    list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"), ["'s", "'S", "'ll", "'Ve", "'re", "'M", "'d", "'t"],
    [" ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", " \n", "\u00a0", "\u3000", "\u2003",
     "\u200b", "\u200d"],
    ["é", "e\u0301", "ñ", "n\u0303", "ü", "Å", "A\u030a", "ß", "İ", "ſ", "ﬁ", "Ω", "Ω", "½", "²", "①"],
    list("日本語中文你好世界한국어안녕"), list("مرحبابالعالم"), list("Привет"), list("Ελληνικά"),
    ["😀", "👍", "👍🏽", "❤️", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "\ufe0f", "🎉"],
    ["▁", "▁▁", "Ġ", "<0x41>", "<", ">", "|", "<s", "s>"],
]


def fuzz_strings(rng, count, added):
    pools = FUZZ_POOLS + ([added] if added else [])
    out = []
    for _ in range(count):
        n = rng.randrange(0, 30)
        parts = []
        for _ in range(n):
            r = rng.random()
            if r < 0.05:
                cp = rng.choice([rng.randrange(0x80, 0x800), rng.randrange(0x800, 0xD800),
                                 rng.randrange(0xE000, 0x10000), rng.randrange(0x10000, 0x30000)])
                parts.append(chr(cp))
            else:
                parts.append(rng.choice(rng.choice(pools)))
        out.append("".join(parts))
    return out


def diff(cli, paths, count):
    rng = random.Random(1234)
    total_bad = 0
    for path in paths:
        tok = Tokenizer.from_file(path)
        added = [t.content for t in tok.get_added_tokens_decoder().values()][:50]
        texts = CASES + fuzz_strings(rng, count, added)
        proc = subprocess.run([cli, path], input=json.dumps(texts), capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{path}: cli failed: {proc.stderr}")
            total_bad += 1
            continue
        got = json.loads(proc.stdout)
        bad = 0
        for text, g in zip(texts, got):
            ids = tok.encode(text, add_special_tokens=True).ids
            want = {"ids": ids, "ids_no_special": tok.encode(text, add_special_tokens=False).ids,
                    "decoded": tok.decode(ids, skip_special_tokens=False),
                    "decoded_skip": tok.decode(ids, skip_special_tokens=True)}
            for key, value in want.items():
                if g[key] != value:
                    bad += 1
                    if bad <= 5:
                        print(f"  MISMATCH {key} for {text!r}:\n    want {value}\n    got  {g[key]}")
        print(f"{path}: {len(texts)} strings, {bad} mismatches ({proc.stderr.strip()})")
        total_bad += bad
    return total_bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--diff", metavar="CLI", help="fuzz the C++ tokenizer via attnserve_tokenize_cli")
    ap.add_argument("--tokenizer", action="append", help="tokenizer.json files for --diff")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "golden",
                                                  "tokenizers"))
    args = ap.parse_args()
    if args.diff:
        paths = args.tokenizer or sorted(glob.glob(os.path.join(args.out, "*", "tokenizer.json")))
        raise SystemExit(1 if diff(args.diff, paths, args.count) else 0)
    builders = {"gpt2": build_gpt2, "llama3": build_llama3, "qwen2": build_qwen2,
                "llama2": build_llama2, "metaspace": build_metaspace, "misc": build_misc}
    for kind, build in builders.items():
        write_kind(args.out, kind, build())


if __name__ == "__main__":
    main()
