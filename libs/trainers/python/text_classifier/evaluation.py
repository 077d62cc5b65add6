"""Validation metrics: mean binary cross-entropy, accuracy at 0.5, ROC AUC."""

from __future__ import annotations

from typing import Dict

import torch
from torch import nn

from .data import Examples


def auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half."""
    positives = labels > 0.5
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    order = torch.argsort(scores)
    sorted_scores = scores[order]
    ranks = torch.empty_like(scores, dtype=torch.float64)
    # Average ranks over ties.
    _, inverse, counts = torch.unique_consecutive(sorted_scores, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).to(torch.float64)
    average = ends - (counts.to(torch.float64) - 1) / 2
    ranks[order] = average[inverse]
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate(model: nn.Module, examples: Examples, device: torch.device, batch_size: int = 256) -> Dict[str, float]:
    was_training = model.training
    model.eval()
    logits = []
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            ids, _ = examples.batch(torch.arange(start, min(start + batch_size, len(examples))))
            logits.append(model(ids.to(device)).to("cpu", torch.float64))
    model.train(was_training)
    all_logits = torch.cat(logits) if logits else torch.zeros(0, dtype=torch.float64)
    labels = examples.labels.to(torch.float64)
    loss = float(nn.functional.binary_cross_entropy_with_logits(all_logits, labels)) if len(examples) else 0.0
    accuracy = float(((all_logits >= 0) == (labels > 0.5)).to(torch.float64).mean()) if len(examples) else 0.0
    return {"loss": loss, "accuracy": accuracy, "auc": auc(all_logits, labels)}
