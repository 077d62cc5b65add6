"""The `utf8-bytes` encoding of the ONNX scoring contract (libs/training/PROTOCOL.md): int64 ids,
byte value + 1, 0 = padding, truncated to maxLength bytes, shape [batch, maxLength]."""

from __future__ import annotations

from typing import Sequence

import torch

PADDING_ID = 0
VOCABULARY_SIZE = 257  # 256 byte values + padding


def encode_text(text: str, max_length: int) -> torch.Tensor:
    """One text's ids, unpadded: at most max_length of them (a cut may split a multi-byte character; the bytes are what count)."""
    data = text.encode("utf-8")[:max_length]
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).to(torch.int16) + 1 if data else torch.zeros(0, dtype=torch.int16)


def encode_batch(texts: Sequence[str], max_length: int, pad_to: int | None = None) -> torch.Tensor:
    """[len(texts), pad_to or max_length] int64 ids, zero-padded on the right."""
    width = max_length if pad_to is None else pad_to
    out = torch.zeros((len(texts), width), dtype=torch.int64)
    for row, text in enumerate(texts):
        ids = encode_text(text, min(max_length, width))
        out[row, : ids.numel()] = ids.to(torch.int64)
    return out
