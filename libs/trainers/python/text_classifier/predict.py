"""PyTorch's own probabilities for texts, from a model directory (output/model or a version's files):

    python -m text_classifier.predict --model-dir DIR < texts.jsonl

stdin: one JSON string per line (a text). stdout: one JSON array of P(machine-written), in order.
Inputs are encoded as the ONNX contract says, so these are what model.onnx must reproduce.
--timing also writes {"texts": N, "seconds": S} on stderr: the scoring alone (encoding and the
model, in batches of --batch-size), without the interpreter's start, imports or loading."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import List, Optional

import torch

from .export import load_model, predict


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m text_classifier.predict", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, type=Path, help="the directory holding model.pt")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    parser.add_argument("--batch-size", type=int, default=256, help="texts per forward pass")
    parser.add_argument("--timing", action="store_true", help='write {"texts": N, "seconds": S} (scoring only) on stderr')
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    texts = []
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        text = json.loads(line)
        if not isinstance(text, str):
            parser.error(f"line {number}: expected a JSON string")
        texts.append(text)
    model, max_length = load_model(args.model_dir)
    started = time.perf_counter()
    probabilities = predict(model, max_length, texts, batch_size=max(1, args.batch_size))
    seconds = time.perf_counter() - started
    if args.timing:
        sys.stderr.write(json.dumps({"texts": len(texts), "seconds": seconds}) + "\n")
    json.dump(probabilities, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
