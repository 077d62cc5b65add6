"""The model version's files (output/model/): model.onnx + scoring.json (the ONNX scoring
contract, libs/training/PROTOCOL.md), and model.pt (weights + architecture) for PyTorch itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Tuple

import torch

from .encoding import encode_batch
from .model import ByteCNN, ProbabilityModel, build_model

INPUT_NAME = "input_ids"
OUTPUT_NAME = "probability"
# ONNX opset 13: what torch 1.13's exporter covers best for these operators (Gather, Conv, ReduceMax, Sigmoid).
OPSET = 13


def scoring_contract(max_length: int) -> Dict[str, Any]:
    return {
        "format": "onnx",
        "input": {"name": INPUT_NAME, "encoding": "utf8-bytes", "maxLength": max_length},
        "output": {"name": OUTPUT_NAME, "kind": "probability"},
    }


def export_model(model: ByteCNN, architecture: Mapping[str, Any], model_dir: Path) -> None:
    """Writes model.onnx, scoring.json and model.pt for `model` (moved to the CPU, in eval mode)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    model = model.to("cpu").eval()
    max_length = int(architecture["maxLength"])
    example = torch.ones((2, max_length), dtype=torch.int64)
    with torch.no_grad():
        torch.onnx.export(
            ProbabilityModel(model),
            (example,),
            str(model_dir / "model.onnx"),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    (model_dir / "scoring.json").write_text(json.dumps(scoring_contract(max_length), indent=2) + "\n", encoding="utf-8")
    torch.save({"format": "pytorch-text-classifier/1", "architecture": dict(architecture), "state_dict": model.state_dict()}, model_dir / "model.pt")


def load_model(model_dir: Path) -> Tuple[ByteCNN, int]:
    """The model saved in model_dir/model.pt, in eval mode on the CPU, and its maxLength."""
    saved = torch.load(model_dir / "model.pt", map_location="cpu")
    model = build_model(saved["architecture"])
    model.load_state_dict(saved["state_dict"])
    return model.eval(), int(saved["architecture"]["maxLength"])


def predict(model: ByteCNN, max_length: int, texts: Sequence[str], batch_size: int = 256) -> List[float]:
    """P(machine-written) per text, inputs encoded exactly as the ONNX contract says ([batch, maxLength])."""
    probabilities: List[float] = []
    scorer = ProbabilityModel(model).eval()
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            probabilities += scorer(encode_batch(texts[start : start + batch_size], max_length)).tolist()
    return probabilities
