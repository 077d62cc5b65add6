"""Training examples from a snapshot's channels: each pair gives two texts, aiText (label 1) and
humanizedText (label 0). Encoded once into a compact int16 tensor; batches are cut from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Tuple

import torch

from .encoding import encode_text


@dataclass
class Examples:
    ids: torch.Tensor  # [n, longest] int16, zero-padded
    lengths: torch.Tensor  # [n] int64, bytes kept per text
    labels: torch.Tensor  # [n] float32, 1 = machine-written

    def __len__(self) -> int:
        return int(self.labels.numel())

    def batch(self, indices: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The examples at `indices`: int64 ids cut to the batch's longest text (the model's masking makes the width irrelevant), labels."""
        width = max(int(self.lengths[indices].max()), 1) if indices.numel() else 1
        return self.ids[indices, :width].to(torch.int64), self.labels[indices]


def texts_and_labels(pairs: Iterable[Mapping[str, Any]]) -> Tuple[List[str], List[float]]:
    texts: List[str] = []
    labels: List[float] = []
    for pair in pairs:
        texts += [str(pair["aiText"]), str(pair["humanizedText"])]
        labels += [1.0, 0.0]
    return texts, labels


def encode_examples(texts: List[str], labels: List[float], max_length: int) -> Examples:
    encoded = [encode_text(text, max_length) for text in texts]
    lengths = torch.tensor([ids.numel() for ids in encoded], dtype=torch.int64)
    longest = max(int(lengths.max()), 1) if encoded else 1
    ids = torch.zeros((len(encoded), longest), dtype=torch.int16)
    for row, row_ids in enumerate(encoded):
        ids[row, : row_ids.numel()] = row_ids
    return Examples(ids=ids, lengths=lengths, labels=torch.tensor(labels, dtype=torch.float32))


def split_channels(train: List[Mapping[str, Any]], validation: List[Mapping[str, Any]]) -> Tuple[List[Mapping[str, Any]], List[Mapping[str, Any]]]:
    """The channels as given; without a validation channel, every tenth training pair is held out (deterministic)."""
    if validation:
        return train, validation
    return [p for i, p in enumerate(train) if i % 10 != 9], [p for i, p in enumerate(train) if i % 10 == 9]


def epoch_order(count: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order of epoch `epoch` (0-based), from its own generator: a function of (seed, epoch)
    only, so a run resumed mid-epoch visits the remaining batches exactly as an uninterrupted one."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(count, generator=generator)
