"""A small CNN over UTF-8 byte embeddings: one logit per text (P(machine-written) = sigmoid)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from torch import nn

from .encoding import PADDING_ID, VOCABULARY_SIZE


class ByteCNN(nn.Module):
    """Embedding of 256 byte values + padding, one Conv1d per kernel width (odd widths, 'same'
    length), ReLU, a max over the text's positions, dropout, one linear layer to a logit.

    Padding never changes the result: its embedding is zero (padding_idx), exactly what the
    convolution's own zero padding adds, and padded positions are zeroed before the max, which
    the ReLU outputs of real positions never fall below. So a batch cut to its longest text
    (training) and the contract's fixed maxLength (ONNX) give the same logits."""

    def __init__(self, embedding_dim: int, channels: int, kernel_sizes: Sequence[int], dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCABULARY_SIZE, embedding_dim, padding_idx=PADDING_ID)
        self.convolutions = nn.ModuleList(nn.Conv1d(embedding_dim, channels, width, padding=width // 2) for width in kernel_sizes)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(channels * len(kernel_sizes), 1)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        mask = (input_ids != PADDING_ID).unsqueeze(1).to(self.output.weight.dtype)  # [batch, 1, length]
        embedded = self.embedding(input_ids).transpose(1, 2)  # [batch, dim, length]
        pooled = [(torch.relu(convolution(embedded)) * mask).amax(dim=2) for convolution in self.convolutions]
        return self.output(self.dropout(torch.cat(pooled, dim=1))).squeeze(1)  # [batch] logits


class ProbabilityModel(nn.Module):
    """What the ONNX file computes: sigmoid of the logit, shape [batch]."""

    def __init__(self, model: ByteCNN) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(input_ids))


def build_model(architecture: Mapping[str, Any]) -> ByteCNN:
    return ByteCNN(
        embedding_dim=int(architecture["embeddingDim"]),
        channels=int(architecture["channels"]),
        kernel_sizes=[int(width) for width in architecture["kernelSizes"]],
        dropout=float(architecture["dropout"]),
    )
