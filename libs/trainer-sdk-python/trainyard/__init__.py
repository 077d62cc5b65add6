"""Trainyard's trainer SDK for Python: the trainer protocol (libs/training/PROTOCOL.md) as an API.

    from trainyard import Run, EXIT_RETRY

    with Run(defaults={"epochs": 3}) as run:
        for pair in run.pairs("train"):
            ...
        run.metric("loss", 0.5, step=1)
"""

from ._run import EXIT_OK, EXIT_RETRY, Run

__all__ = ["EXIT_OK", "EXIT_RETRY", "Run"]
__version__ = "0.1.0"
