#!/usr/bin/env python3
"""Example: stream a completion, score a sentence and round-trip tokens with attnserve.

    python3 clients/python/example.py --addr localhost:50051 "Once upon a time"
"""

import argparse
import math
import sys

from attnserve_client import AttnserveClient, pb2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prompt", nargs="?", default="Once upon a time")
    parser.add_argument("--addr", default="localhost:50051")
    parser.add_argument("--max_tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    with AttnserveClient(args.addr, timeout=60) as client:
        info = client.model_info()
        print(f"model: {info.architecture} ({info.num_layers} layers, vocab {info.vocab_size}, "
              f"context {info.max_context}) health={client.health()}", file=sys.stderr)

        last = None
        for chunk in client.generate(args.prompt, max_tokens=args.max_tokens,
                                     temperature=args.temperature, seed=args.seed):
            print(chunk.text, end="", flush=True)
            last = chunk
        print()
        print(f"[{pb2.FinishReason.Name(last.finish_reason)}] "
              f"prompt_tokens={last.usage.prompt_tokens} "
              f"completion_tokens={last.usage.completion_tokens}", file=sys.stderr)

        scored = client.score(args.prompt)
        total = sum(scored.token_logprobs)
        n = len(scored.token_logprobs)
        print(f"score: total logprob {total:.3f} over {n} tokens, "
              f"perplexity {math.exp(-total / max(n, 1)):.3f}", file=sys.stderr)

        ids = client.tokenize(args.prompt, add_special_tokens=False)
        assert client.detokenize(ids) == args.prompt
        print(f"tokenize: {ids}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
