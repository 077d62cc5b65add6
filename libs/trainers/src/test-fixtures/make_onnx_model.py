"""Writes a small ONNX text scorer that follows the scoring contract, for the scoring tests.

usage: make_onnx_model.py OUT_DIR [--kind probability|logit] [--max-length N] [--scale S] < texts.json > torch_scores.json

A byte-level model (embedding of utf8-bytes ids, mean over the non-padding positions, a linear
layer) with fixed random weights; OUT_DIR gets model.onnx and scoring.json. The texts on stdin
(a JSON array) are scored by PyTorch itself, and those scores printed: what ONNX Runtime must match.
"""
import argparse
import json
import sys
from pathlib import Path

import torch


class TwoInputs(torch.nn.Module):
    """Takes an attention mask besides the ids: the contract feeds one input only."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.inner(input_ids * attention_mask)


class IntegerOutput(torch.nn.Module):
    """Outputs a percentage as int64: not a float score."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return (self.inner(input_ids) * 100).long()


class ByteMeanScorer(torch.nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(257, 16, padding_idx=0)
        self.linear = torch.nn.Linear(16, 1)
        self.kind = kind

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        mask = (input_ids > 0).unsqueeze(-1).float()
        mean = (self.embedding(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        logit = self.linear(mean).squeeze(-1)
        return torch.sigmoid(logit) if self.kind == "probability" else logit


def encode(texts: list, max_length: int) -> torch.Tensor:
    ids = torch.zeros((len(texts), max_length), dtype=torch.int64)
    for row, text in enumerate(texts):
        data = text.encode("utf-8")[:max_length]
        if data:
            ids[row, : len(data)] = torch.tensor([byte + 1 for byte in data], dtype=torch.int64)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--kind", choices=["probability", "logit"], default="probability")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the output layer's weights and bias")
    parser.add_argument("--variant", choices=["good", "two-inputs", "int-output"], default="good", help="a model that breaks the contract")
    args = parser.parse_args()
    torch.manual_seed(7)
    model = ByteMeanScorer(args.kind).eval()
    with torch.no_grad():
        model.linear.weight.mul_(args.scale)
        model.linear.bias.fill_(args.scale)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    output_name = "probability" if args.kind == "probability" else "logit"
    example = encode(["example"], args.max_length)
    exported, inputs, input_names = model, (example,), ["input_ids"]
    if args.variant == "two-inputs":
        exported, inputs, input_names = TwoInputs(model), (example, torch.ones_like(example)), ["input_ids", "attention_mask"]
    elif args.variant == "int-output":
        exported = IntegerOutput(model)
    torch.onnx.export(
        exported,
        inputs,
        str(out / "model.onnx"),
        input_names=input_names,
        output_names=[output_name],
        dynamic_axes={**{name: {0: "batch"} for name in input_names}, output_name: {0: "batch"}},
        opset_version=14,
    )
    contract = {
        "format": "onnx",
        "input": {"name": "input_ids", "encoding": "utf8-bytes", "maxLength": args.max_length},
        "output": {"name": output_name, "kind": args.kind},
    }
    (out / "scoring.json").write_text(json.dumps(contract))
    texts = json.load(sys.stdin)
    with torch.no_grad():
        scores = model(encode(texts, args.max_length)) if texts else torch.zeros(0)
        probabilities = scores if args.kind == "probability" else torch.sigmoid(scores)
    json.dump([float(value) for value in probabilities], sys.stdout)


if __name__ == "__main__":
    main()
