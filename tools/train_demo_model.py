#!/usr/bin/env python3
"""Trains models/demo-llama: a small Llama-architecture model on the King James Bible (public domain).

A reproducible, CPU-only, single-thread recipe (fixed seeds; every hyper-parameter is an argparse
default below and is recorded in the written README.md):

  1. Text: the Authorized (King James) Version of the Bible from the Debian packages
     `bible-kjv-text` (the compressed text, /usr/lib/bible.data) and `bible-kjv` (the `bible`
     program that decodes it; a dependency of bible-kjv-text). Install with
         apt-get update && apt-get install -y bible-kjv-text
     The whole text is dumped with `bible -p /usr/lib -l 100000 Gen1:1-Rev22:21` (pretty-printed:
     a "Book N" heading per chapter, one "  N text" line per verse; -l 100000 keeps each verse on one
     line) and written as, per chapter:  "Genesis 1\n\nIn the beginning God ...\nAnd the earth ...\n\n"
     (verse numbers dropped). 66 books, 1189 chapters, 31102 verses, ~4.2 MB of ASCII.
  2. Split (deterministic, whole books so long contexts are coherent): the books whose 1-based
     canonical index is a multiple of 8 are held out -- Ruth, Nehemiah, Jeremiah, Jonah, Matthew,
     Galatians, Titus, 3 John (~11% of the text, 114771 tokens); their text, in canonical order and in
     the format above, is written to <out>/heldout.txt. Everything else is training text.
     (Caveat: the Bible has parallel passages -- e.g. Matthew/Mark/Luke, Jeremiah 52/2 Kings 25 --
     so held-out perplexity is somewhat optimistic as a measure of generalisation.)
  3. Tokenizer: byte-level BPE (the `tokenizers` library, GPT-2 style: ByteLevel pre-tokenizer with
     the GPT-2 regex, add_prefix_space=False; ByteLevel decoder; so any UTF-8 input round-trips),
     trained on the training text only, vocab --vocab_size including "<s>" (id 0, BOS) and "</s>"
     (id 1, EOS); the post-processor prepends <s> when add_special_tokens is true.
  4. Model: LlamaForCausalLM (transformers), hidden 256, 4 layers, 4 heads (head_dim 64), 2 KV heads
     (GQA), intermediate 704, tied embeddings, RoPE theta 10000, max_position_embeddings 256 (= the
     training context). Trained with AdamW (betas 0.9/0.95, weight decay 0.1 on matrices, grad clip
     1.0), linear warm-up then cosine decay to 10% of the peak LR, on batches of random 256-token
     windows: each window is <s> followed by the 255 training tokens starting at a random verse/line
     start (so a prompt "<s>In the beginning" is in-distribution). No EOS is inserted into the text.
     Held-out loss is printed every --eval_every steps (on a fixed subset of held-out windows).
  5. Saves <out>/{config.json, generation_config.json, model.safetensors (f32 if <= 10 MB, else
     bf16), tokenizer.json, tokenizer_config.json, heldout.txt, train_log.txt, README.md}, re-loads the
     saved model in f32 and reports held-out perplexity at context 256 (the model's own) and, for
     information, 512 and 1024 (beyond the trained length: RoPE without scaling, so it degrades),
     and greedy / temperature-0.8 samples from "In the beginning".

Perplexity at context L: the held-out token stream is cut into consecutive, non-overlapping pieces
of L-1 tokens; each is evaluated as <s> + piece (L positions) and the mean next-token cross-entropy
over all L-1 predicted tokens of all pieces is exp()'d.

Usage (what produced the committed models/demo-llama: 1100 steps, 37.5 minutes of training on one
thread of a busy 2-core VM; budgeted to stay under ~60 minutes):

    OMP_NUM_THREADS=1 nice -n 19 python3 tools/train_demo_model.py
    python3 tools/train_demo_model.py --steps 20 --out /tmp/demo-trial   # quick throughput trial

Versions used: torch 2.15.0, transformers 5.24.0, tokenizers 0.23.3, safetensors 0.8.0, Python 3.11,
Debian 12 packages bible-kjv-text/bible-kjv 4.38. Training uses one thread and
torch.use_deterministic_algorithms(True), so the same versions (and CPU kind) should reproduce the same
files (checked: the tokenizer and heldout.txt are byte-identical across runs, and the first 75 steps' losses
of two runs agreed to 4 decimals; a full second training run was not done).
"""

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "models", "demo-llama")

BOS, EOS = "<s>", "</s>"
NUM_BOOKS, NUM_CHAPTERS, NUM_VERSES = 66, 1189, 31102
BIBLE_DATA = "/usr/lib/bible.data"
PROMPT = "In the beginning"


def build_parser():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="output model directory")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--heldout_every", type=int, default=8,
                    help="hold out the books whose 1-based canonical index is a multiple of this")
    ap.add_argument("--vocab_size", type=int, default=4096)
    # model
    ap.add_argument("--hidden_size", type=int, default=256)
    ap.add_argument("--num_layers", type=int, default=4)
    ap.add_argument("--num_heads", type=int, default=4)
    ap.add_argument("--num_kv_heads", type=int, default=2)
    ap.add_argument("--intermediate_size", type=int, default=704)
    ap.add_argument("--rope_theta", type=float, default=10000.0)
    ap.add_argument("--context", type=int, default=256, help="training context = max_position_embeddings")
    ap.add_argument("--init_std", type=float, default=0.02)
    # optimisation
    ap.add_argument("--steps", type=int, default=1100, help="optimizer steps (token budget = steps*batch*context)")
    ap.add_argument("--batch_size", type=int, default=16, help="windows per step")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    ap.add_argument("--min_lr_ratio", type=float, default=0.1, help="final LR / peak LR (cosine)")
    ap.add_argument("--warmup_steps", type=int, default=100)
    ap.add_argument("--weight_decay", type=float, default=0.1)
    ap.add_argument("--grad_clip", type=float, default=1.0)
    ap.add_argument("--eval_every", type=int, default=200)
    ap.add_argument("--eval_windows", type=int, default=48, help="held-out windows used for periodic eval")
    ap.add_argument("--log_every", type=int, default=25)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    # outputs
    ap.add_argument("--max_f32_bytes", type=int, default=10_000_000,
                    help="store f32 weights if they fit in this many bytes, else bf16")
    ap.add_argument("--sample_tokens", type=int, default=64)
    ap.add_argument("--eval_contexts", default="256,512,1024")
    return ap


def non_default_flags(args):
    """The command-line flags that differ from the defaults (for the README's command line)."""
    out = []
    for action in build_parser()._actions:
        if action.dest != "help" and getattr(args, action.dest) != action.default:
            out.append(f"{action.option_strings[0]} {getattr(args, action.dest)}")
    return "".join(" " + f for f in out)


# ----------------------------------------------------------------------------------------------- data

def dump_kjv():
    """Returns [(book_name, [(chapter_no, [verse text, ...]), ...]), ...] in canonical order."""
    bible = shutil.which("bible")
    if bible is None or not os.path.exists(BIBLE_DATA):
        raise SystemExit(
            "train_demo_model.py needs the King James Bible from Debian: the `bible` program (package "
            f"bible-kjv) and {BIBLE_DATA} (package bible-kjv-text). Install them with\n"
            "    apt-get update && apt-get install -y bible-kjv-text")
    # -p: read the data from /usr/lib only (the default path also searches the current directory).
    proc = subprocess.run([bible, "-p", "/usr/lib", "-l", "100000", "Gen1:1-Rev22:21"],
                          stdin=subprocess.DEVNULL, capture_output=True, check=True)
    text = proc.stdout.decode("ascii")
    books, cur_book = [], None
    heading = re.compile(r"^(\S.*) (\d+)$")
    verse = re.compile(r"^  (\d+) (.*)$")
    for line in text.split("\n"):
        if not line:
            continue
        m = heading.match(line)
        if m:
            name, ch = m.group(1), int(m.group(2))
            if cur_book is None or cur_book[0] != name:
                cur_book = (name, [])
                books.append(cur_book)
            assert ch == len(cur_book[1]) + 1, line
            cur_book[1].append((ch, []))
            continue
        m = verse.match(line)
        assert m and cur_book, f"unexpected line from bible: {line!r}"
        verses = cur_book[1][-1][1]
        assert int(m.group(1)) == len(verses) + 1, line
        verses.append(m.group(2).strip())
    nch = sum(len(b[1]) for b in books)
    nv = sum(len(c[1]) for b in books for c in b[1])
    if (len(books), nch, nv) != (NUM_BOOKS, NUM_CHAPTERS, NUM_VERSES):
        raise SystemExit(f"unexpected KJV dump: {len(books)} books, {nch} chapters, {nv} verses "
                         f"(want {NUM_BOOKS}/{NUM_CHAPTERS}/{NUM_VERSES})")
    return books


def book_text(book):
    name, chapters = book
    return "".join(f"{name} {ch}\n\n" + "\n".join(verses) + "\n\n" for ch, verses in chapters)


# ------------------------------------------------------------------------------------------ tokenizer

def train_tokenizer(train_text, vocab_size):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(train_text.split("\n"), trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B",
                                      special_tokens=[(BOS, bos_id)]),
    ])
    assert (tok.token_to_id(BOS), tok.token_to_id(EOS)) == (0, 1)
    assert tok.get_vocab_size() == vocab_size, tok.get_vocab_size()
    probe = "Hello, wörld! 日本語 😀 \t tabs\r\n  ünïcödé ﬁ \x00"
    assert tok.decode(tok.encode(probe, add_special_tokens=False).ids) == probe, "byte-level round trip"
    return tok


def write_tokenizer(tok, out_dir):
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": BOS, "eos_token": EOS,
                   "add_bos_token": True, "clean_up_tokenization_spaces": False,
                   "model_max_length": 1 << 20}, f, indent=2)
        f.write("\n")


def line_start_tokens(text, enc):
    """Indices of tokens that begin a non-empty line of text (window starts)."""
    starts = []
    for i, (a, _) in enumerate(enc.offsets):
        if (a == 0 or text[a - 1] == "\n") and a < len(text) and text[a] != "\n":
            starts.append(i)
    return starts


# -------------------------------------------------------------------------------------------- model

def build_config(args):
    import transformers
    return transformers.LlamaConfig(
        vocab_size=args.vocab_size, hidden_size=args.hidden_size, num_hidden_layers=args.num_layers,
        num_attention_heads=args.num_heads, num_key_value_heads=args.num_kv_heads,
        head_dim=args.hidden_size // args.num_heads, intermediate_size=args.intermediate_size,
        hidden_act="silu", rms_norm_eps=1e-5, max_position_embeddings=args.context,
        rope_parameters={"rope_type": "default", "rope_theta": args.rope_theta},
        initializer_range=args.init_std, tie_word_embeddings=True, bos_token_id=0, eos_token_id=1,
        pad_token_id=None, attention_bias=False, mlp_bias=False, use_cache=True)


def lr_at(step, args):
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    t = (step - args.warmup_steps) / max(1, args.steps - args.warmup_steps)
    return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def heldout_pieces(ids, ctx, max_pieces=None):
    import torch
    n = ctx - 1
    pieces = [ids[i:i + n] for i in range(0, len(ids) - n + 1, n)]
    if max_pieces and len(pieces) > max_pieces:
        step = len(pieces) / max_pieces
        pieces = [pieces[int(k * step)] for k in range(max_pieces)]
    return torch.tensor([[0] + p for p in pieces], dtype=torch.long)


def eval_loss(model, windows, batch=8):
    """Mean next-token NLL (nats) over all predicted positions of the windows (each starts with <s>)."""
    import torch
    import torch.nn.functional as F
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(windows), batch):
            x = windows[i:i + batch]
            logits = model(input_ids=x).logits[:, :-1].float()
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1),
                                  reduction="sum")
            total += float(nll)
            count += x[:, 1:].numel()
    model.train(was_training)
    return total / count


def save_model(model, out_dir, max_f32_bytes):
    import torch
    nparams = sum(p.numel() for p in model.parameters())  # tied: embedding counted once
    dtype = torch.float32 if nparams * 4 <= max_f32_bytes else torch.bfloat16
    model = model.to(dtype)
    model.save_pretrained(out_dir, safe_serialization=True)
    model.generation_config.save_pretrained(out_dir)
    return dtype, nparams


# --------------------------------------------------------------------------------------------- main

def main():
    args = build_parser().parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    import tokenizers
    import transformers
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)
    t_start = time.time()
    log_lines = []

    def log(msg):
        print(msg, flush=True)
        log_lines.append(msg)

    # 1-2. data and split
    books = dump_kjv()
    held = [i for i in range(len(books)) if (i + 1) % args.heldout_every == 0]
    train_text = "".join(book_text(b) for i, b in enumerate(books) if i not in held)
    heldout_text = "".join(book_text(books[i]) for i in held)
    held_names = [books[i][0] for i in held]
    log(f"KJV: {len(books)} books; held out {held_names}: {len(heldout_text)} chars; "
        f"train {len(train_text)} chars")

    # 3. tokenizer
    tok = train_tokenizer(train_text, args.vocab_size)
    train_enc = tok.encode(train_text, add_special_tokens=False)
    train_ids = torch.tensor(train_enc.ids, dtype=torch.long)
    starts = [s for s in line_start_tokens(train_text, train_enc) if s + args.context - 1 <= len(train_ids)]
    starts = torch.tensor(starts, dtype=torch.long)
    heldout_ids = tok.encode(heldout_text, add_special_tokens=False).ids
    log(f"tokens: train {len(train_ids)} ({len(train_text) / len(train_ids):.2f} chars/token), "
        f"held-out {len(heldout_ids)}; {len(starts)} window starts")
    if len(heldout_ids) < 100_000:
        raise SystemExit(f"held-out text has only {len(heldout_ids)} tokens (< 100k)")

    # 4. model and training
    config = build_config(args)
    torch.manual_seed(args.seed)
    model = transformers.LlamaForCausalLM(config).to(torch.float32)
    model.config._attn_implementation = "sdpa"
    nparams = sum(p.numel() for p in model.parameters())
    log(f"model: {nparams} parameters ({nparams - args.vocab_size * args.hidden_size} non-embedding)")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    eval_windows = heldout_pieces(heldout_ids, args.context, args.eval_windows)
    gen = torch.Generator().manual_seed(args.seed)
    offs = torch.arange(args.context - 1)
    bos_col = torch.zeros(args.batch_size, 1, dtype=torch.long)
    model.train()
    t_train = time.time()
    run_loss, run_n = 0.0, 0
    history = []
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        idx = starts[torch.randint(len(starts), (args.batch_size,), generator=gen)]
        x = torch.cat([bos_col, train_ids[idx[:, None] + offs]], dim=1)
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        run_loss += loss.item()
        run_n += 1
        done = step + 1
        if done % args.log_every == 0 or done == args.steps:
            el = time.time() - t_train
            tps = done * args.batch_size * args.context / el
            log(f"step {done}/{args.steps} lr {lr_at(step, args):.2e} train_loss {run_loss / run_n:.4f} "
                f"| {tps:.0f} tok/s, {el / 60:.1f} min, eta {(args.steps - done) * el / done / 60:.1f} min")
            run_loss, run_n = 0.0, 0
        if done % args.eval_every == 0 or done == args.steps:
            hl = eval_loss(model, eval_windows)
            history.append((done, hl))
            log(f"step {done}: heldout_loss {hl:.4f} (ppl {math.exp(hl):.2f}, {len(eval_windows)} windows)")
    train_minutes = (time.time() - t_train) / 60
    log(f"training: {train_minutes:.1f} min for {args.steps * args.batch_size * args.context} tokens "
        f"({args.steps * args.batch_size * args.context / len(train_ids):.2f} epochs)")

    # 5. save, re-load, evaluate, sample
    os.makedirs(args.out, exist_ok=True)
    for f in ["model.safetensors", "model.safetensors.index.json"]:
        if os.path.exists(os.path.join(args.out, f)):
            os.remove(os.path.join(args.out, f))
    dtype, nparams = save_model(model, args.out, args.max_f32_bytes)
    write_tokenizer(tok, args.out)
    with open(os.path.join(args.out, "heldout.txt"), "w", encoding="utf-8") as f:
        f.write(heldout_text)
    weight_bytes = os.path.getsize(os.path.join(args.out, "model.safetensors"))

    model = transformers.LlamaForCausalLM.from_pretrained(
        args.out, dtype=torch.float32, attn_implementation="eager").eval()
    hf_tok = transformers.AutoTokenizer.from_pretrained(args.out)
    prompt_ids = hf_tok(PROMPT)["input_ids"]
    assert prompt_ids == tok.encode(PROMPT).ids and prompt_ids[0] == 0, prompt_ids
    ppl = {}
    for ctx in [int(c) for c in args.eval_contexts.split(",")]:
        hl = eval_loss(model, heldout_pieces(heldout_ids, ctx), batch=max(1, 2048 // ctx))
        ppl[ctx] = hl
        log(f"held-out (saved {str(dtype).replace('torch.', '')} weights) context {ctx}: "
            f"loss {hl:.4f}, perplexity {math.exp(hl):.2f}")

    ids = torch.tensor([prompt_ids])
    with torch.no_grad():
        greedy = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                max_new_tokens=args.sample_tokens, eos_token_id=None, pad_token_id=0)
        samples = []
        for seed in (1, 2):
            torch.manual_seed(seed)
            out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True,
                                 temperature=0.8, top_k=0, top_p=1.0,
                                 max_new_tokens=args.sample_tokens, eos_token_id=None, pad_token_id=0)
            samples.append((seed, hf_tok.decode(out[0], skip_special_tokens=True)))
    greedy_ids = greedy[0, len(prompt_ids):].tolist()
    greedy_text = hf_tok.decode(greedy[0], skip_special_tokens=True)
    log(f"greedy ids: {greedy_ids}")
    log(f"greedy: {greedy_text!r}")
    for seed, s in samples:
        log(f"sample T=0.8 seed {seed}: {s!r}")

    with open(os.path.join(args.out, "train_log.txt"), "w") as f:
        f.write("\n".join(log_lines) + "\n")
    write_readme(args, held_names, len(train_ids), len(heldout_ids), len(train_text), len(heldout_text),
                 nparams, dtype, weight_bytes, history, ppl, train_minutes, greedy_ids, greedy_text,
                 samples, versions=(torch.__version__, transformers.__version__, tokenizers.__version__))
    for f in os.listdir(args.out):
        os.chmod(os.path.join(args.out, f), 0o644)
    log(f"wrote {args.out} in {(time.time() - t_start) / 60:.1f} min")


def write_readme(args, held_names, n_train, n_held, c_train, c_held, nparams, dtype, weight_bytes,
                 history, ppl, train_minutes, greedy_ids, greedy_text, samples, versions):
    cmd_flags = non_default_flags(args)
    tokens = args.steps * args.batch_size * args.context
    hist = "\n".join(f"| {s} | {l:.4f} | {math.exp(l):.2f} |" for s, l in history)
    ppl_rows = "\n".join(
        f"| {c} | {l:.4f} | {math.exp(l):.2f} | "
        f"{'trained context' if c == args.context else 'beyond the trained length (RoPE, no scaling)'} |"
        for c, l in ppl.items())
    dt = str(dtype).replace("torch.", "")
    text = f"""# demo-llama

A small Llama-architecture language model trained from scratch on the King James Bible, on one CPU
thread, by `tools/train_demo_model.py` (reproducible: fixed seeds, deterministic algorithms). It is a
demo model for attnserve: it writes KJV-flavoured English, it is not a useful assistant.

## Data and licence

The Authorized (King James) Version of the Bible (1611), **public domain** (the copyright has long
expired; see /usr/share/doc/bible-kjv-text/copyright), from the Debian 12 packages `bible-kjv-text`
and `bible-kjv` 4.38, decoded with `bible -p /usr/lib -l 100000 Gen1:1-Rev22:21`. Each chapter is
written as `"<Book> <chapter>\\n\\n" + one verse per line (no verse numbers) + "\\n\\n"`.

**Split** (whole books): the books whose 1-based canonical index is a multiple of {args.heldout_every}
are held out: {", ".join(held_names)} ({c_held} characters, {n_held} tokens), written in canonical order
and the same format to `heldout.txt`. The other {66 - len(held_names)} books ({c_train} characters, {n_train} tokens)
are the training text (the tokenizer, too, is trained on it only). Parallel passages (the synoptic
gospels, Jeremiah 52 / 2 Kings 25, ...) make held-out perplexity somewhat optimistic.

## Model

| | |
|---|---|
| architecture | `LlamaForCausalLM`, {args.num_layers} layers, hidden {args.hidden_size}, {args.num_heads} heads (head_dim {args.hidden_size // args.num_heads}), {args.num_kv_heads} KV heads (GQA), intermediate {args.intermediate_size}, SiLU, RMSNorm eps 1e-5 |
| positions | RoPE theta {args.rope_theta:g}, `max_position_embeddings` {args.context} (= training context) |
| embeddings | tied input/output, vocab {args.vocab_size} |
| parameters | {nparams:,} ({nparams - args.vocab_size * args.hidden_size:,} non-embedding) |
| weights | `model.safetensors`, {dt}, {weight_bytes:,} bytes (f32 only if <= {args.max_f32_bytes:,} bytes) |
| tokenizer | byte-level BPE (GPT-2 regex pre-tokenizer, ByteLevel decoder; any UTF-8 round-trips), vocab {args.vocab_size}; `<s>` = 0 (BOS, prepended by the post-processor), `</s>` = 1 (EOS; never seen in training, so generation runs to max_tokens) |

## Training

AdamW (betas 0.9/0.95, eps 1e-8, weight decay {args.weight_decay} on matrices), peak LR {args.lr:g}, {args.warmup_steps}
warm-up steps then cosine decay to {args.min_lr_ratio:g}x, grad-norm clip {args.grad_clip:g}, init std {args.init_std:g}, seed {args.seed}.
{args.steps} steps x {args.batch_size} windows x {args.context} tokens = {tokens:,} tokens ({tokens / n_train:.2f} epochs);
each window is `<s>` + 255 training tokens from a random verse/line start. f32, 1 thread,
{train_minutes:.1f} minutes of training wall time on a shared 2-core AMD EPYC VM under `nice -n 19`.
Versions: torch {versions[0]}, transformers {versions[1]}, tokenizers {versions[2]}.

Command:

    OMP_NUM_THREADS=1 nice -n 19 python3 tools/train_demo_model.py{cmd_flags}

Held-out loss during training, on a fixed subset ({args.eval_windows} evenly spaced windows of {args.context} tokens;
its numbers differ from the full held-out evaluation below by the choice of windows):

| step | loss (nats/token) | perplexity |
|---|---|---|
{hist}

## Held-out perplexity (saved weights, re-loaded in f32)

All of `heldout.txt` ({n_held} tokens), cut into consecutive pieces of L-1 tokens, each evaluated as
`<s>` + piece; mean next-token cross-entropy over all predicted tokens:

| context L | loss (nats/token) | perplexity | |
|---|---|---|---|
{ppl_rows}

## Samples (transformers, prompt `<s>{PROMPT}`, {args.sample_tokens} new tokens)

Greedy (token ids {greedy_ids[:32]} ...):

> {greedy_text.rstrip().replace(chr(10), chr(10) + "> ")}

""" + "".join(f"""Sampled, temperature 0.8, `torch.manual_seed({seed})`:

> {s.rstrip().replace(chr(10), chr(10) + "> ")}

""" for seed, s in samples) + """`train_log.txt` is the full training log.
"""
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
