"""Benchmark: the cost of secret masking per console line (it runs on every line a job prints).

    .venv/bin/python -m bench.masking [--lines 200000] [--repeat 5]

Three kinds of lines, each timed through `SecretMasker.mask_line` as capture calls it: plain
output (no hint of a secret: the fast path), metrics-like lines with `=` and `:` (every rule
runs, nothing is found), and lines holding a secret. Prints the median microseconds per line of
each, then one JSON line.
"""

from __future__ import annotations

import argparse
import statistics
import time

import orjson

from producer.masking import SecretMasker

KINDS = {
    "plain": "Epoch 12 step 3400 training the model on batch 77 of the shard",
    "metrics": "epoch=12 step=3400 loss=0.04213 acc=0.9812 lr=0.0003 time: 12.4s",
    "json": '{"epoch": 12, "loss": 0.042, "url": "https://x/y?a=1\\u0026b=2"}',
    "secret": "connecting with DB_PASSWORD=hunter2hunter2 to postgres://app:pw@db/x",
}


def per_line(line: str, lines: int) -> float:
    masker = SecretMasker()
    started = time.perf_counter()
    for _ in range(lines):
        masker.mask_line(line)
    return (time.perf_counter() - started) / lines * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    result = {
        kind: round(statistics.median(per_line(line, args.lines) for _ in range(args.repeat)), 2)
        for kind, line in KINDS.items()
    }
    for kind, micros in result.items():
        print(f"{kind:>8}: {micros:8.2f} us/line")
    print(orjson.dumps({"bench": "masking", "us_per_line": result}).decode())


if __name__ == "__main__":
    main()
