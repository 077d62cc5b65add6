"""A complete minimal Trainyard trainer in Python: a perceptron over hashed words that tells
machine-written text (label 1) from its humanized rewrite (label 0).

Reads the training pairs, reports metrics each epoch, checkpoints each epoch, resumes from the
latest checkpoint, stops cleanly on SIGTERM and writes its model to output/model/.
Hyperparameters: epochs (3), features (1024), epoch_delay_seconds (0: slow it down to watch it).
"""

from __future__ import annotations

import json
import sys
import time
import zlib
from typing import Iterator

from trainyard import Run


def features(text: str, size: int) -> list[int]:
    # crc32, not hash(): Python randomizes str hashes per process, and a resumed run must agree.
    return [zlib.crc32(word.encode()) % size for word in text.lower().split()]


def examples(run: Run, channel: str) -> Iterator[tuple[str, int]]:
    for pair in run.pairs(channel):
        yield pair["aiText"], 1
        yield pair["humanizedText"], 0


def predict(weights: list[float], text: str) -> int:
    return 1 if sum(weights[index] for index in features(text, len(weights))) > 0 else 0


with Run(defaults={"epochs": 3, "features": 1024, "epoch_delay_seconds": 0}) as run:
    epochs = int(run.hyperparameters["epochs"])
    weights = [0.0] * int(run.hyperparameters["features"])
    first_epoch = 1

    latest = run.latest_checkpoint()
    if latest is not None:
        state = json.loads((latest / "state.json").read_text())
        weights, first_epoch = state["weights"], state["epoch"] + 1
        run.log(f"resuming from {latest.name} (attempt {run.attempt})")

    for epoch in range(first_epoch, epochs + 1):
        mistakes = seen = 0
        for text, label in examples(run, "train"):
            guess = predict(weights, text)
            if guess != label:
                mistakes += 1
                for index in features(text, len(weights)):
                    weights[index] += 1.0 if label == 1 else -1.0
            seen += 1
        validation = [predict(weights, text) == label for text, label in examples(run, "validation")]
        slow_until = time.monotonic() + float(run.hyperparameters["epoch_delay_seconds"])
        while time.monotonic() < slow_until and not run.stop_requested:
            time.sleep(0.02)

        # Metrics before the checkpoint: a checkpoint is scored with the latest values (keepBest).
        run.metrics({"train_error": mistakes / max(seen, 1), "val_accuracy": sum(validation) / max(len(validation), 1)}, step=epoch)
        with run.checkpoint(f"epoch-{epoch:04d}", step=epoch) as directory:
            (directory / "state.json").write_text(json.dumps({"epoch": epoch, "weights": weights}))
        run.progress(epoch / epochs, f"epoch {epoch}/{epochs}")

        if run.stop_requested:  # cancel or timeout: the checkpoint above is saved, leave now
            run.log(f"stopping after epoch {epoch}: checkpoint saved")
            run.exit(128 + 15)

    (run.model_dir / "model.json").write_text(json.dumps({"kind": "hashed-word-perceptron", "weights": weights}))
    print(f"trained {epochs} epochs", file=sys.stdout)
