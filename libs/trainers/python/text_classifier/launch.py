"""Starts the trainer, first making sure its interpreter can: PyTorch and the Trainyard SDK.
Imports nothing heavy itself, so a missing PyTorch gives one clear line on stderr (the failed
job shows stderr's last line) instead of a traceback."""

from __future__ import annotations

import os
import sys

NEEDS_TORCH = (
    "pytorch-text-classifier needs PyTorch: apt-get install python3-torch (Debian) "
    "or set TRAINYARD_PYTHON to an interpreter that has it"
)
NEEDS_SDK = "pytorch-text-classifier needs the Trainyard Python SDK (libs/trainer-sdk-python) on PYTHONPATH"


def main() -> int:
    # PyTorch's OpenMP threads sleep rather than spin while they wait, unless the operator chose
    # (TRAINYARD_TRAINER_ENV): read when torch loads its OpenMP runtime, so set before the import.
    # On 2 cores other work also used (load ~4), one epoch of 5 000 pairs took 5.3-6.4 s with
    # 1 thread, 9-20 s with 2 spinning threads, 6.9-7.9 s with 2 sleeping ones.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch  # noqa: F401
    except ImportError as error:
        raise SystemExit(f"{NEEDS_TORCH} ({sys.executable}: {error})") from None
    try:
        from trainyard import Run
    except ImportError as error:
        raise SystemExit(f"{NEEDS_SDK} ({error})") from None
    from .hyperparameters import DEFAULTS
    from .training import train

    with Run(defaults=DEFAULTS) as run:
        code = train(run)
    return code
