"""The training loop, driven through the Trainyard Python SDK's Run (libs/trainer-sdk-python):
mini-batch AdamW on binary cross-entropy, validation metrics per epoch, a checkpoint per epoch
(and on SIGTERM / the early warning, mid-epoch), exact resume, early stopping on val_loss, and
the best epoch's weights exported at the end."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn

from .data import Examples, encode_examples, epoch_order, split_channels, texts_and_labels
from .evaluation import evaluate
from .export import export_model
from .hyperparameters import architecture, validate
from .model import build_model

EXIT_STOPPED = 143  # 128 + SIGTERM: what a process ended by SIGTERM reports
CHECKPOINT_FILE = "state.pt"


@dataclass
class TrainingState:
    epoch: int = 0  # epochs completed
    batch: int = 0  # batches done in the current epoch
    loss_sum: float = 0.0  # the current epoch's training loss so far (train_loss = mean over its batches)
    loss_count: int = 0
    best: Optional[Dict[str, Any]] = None  # {"epoch", "val_loss", "metrics", "state_dict"}
    bad_epochs: int = 0  # epochs since val_loss last improved (early stopping's patience counter)


def resolve_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device is cuda but torch.cuda.is_available() is False: use device auto or cpu, or run where CUDA is")
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def configure_threads(threads: int) -> int:
    """threads, or 0 = every core this process may run on (its CPU affinity, e.g. a Slurm allocation)."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    count = threads or available
    torch.set_num_threads(count)
    return count


def checkpoint_name(state: TrainingState) -> str:
    # Names sort in training order: epoch-0002 < epoch-0002-batch-000013 < epoch-0003.
    return f"epoch-{state.epoch:04d}" + (f"-batch-{state.batch:06d}" if state.batch else "")


def cpu_copy(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in state_dict.items()}


def save_checkpoint(run: Any, state: TrainingState, model: nn.Module, optimizer: torch.optim.Optimizer, hp: Dict[str, Any]) -> str:
    name = checkpoint_name(state)
    with run.checkpoint(name) as directory:
        torch.save(
            {
                "hyperparameters": hp,
                "epoch": state.epoch,
                "batch": state.batch,
                "loss_sum": state.loss_sum,
                "loss_count": state.loss_count,
                "best": state.best,
                "bad_epochs": state.bad_epochs,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            },
            directory / CHECKPOINT_FILE,
        )
    return name


def load_checkpoint(path: Any, model: nn.Module, optimizer: torch.optim.Optimizer, hp: Dict[str, Any]) -> TrainingState:
    saved = torch.load(path / CHECKPOINT_FILE, map_location="cpu")
    changed = [key for key in ("seed", "batchSize", *architecture(hp)) if saved["hyperparameters"].get(key) != hp[key]]
    if changed:
        raise RuntimeError(f"checkpoint {path.name} was made with other hyperparameters ({', '.join(changed)}): it cannot be resumed exactly")
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    torch.set_rng_state(saved["rng"])
    if saved["cuda_rng"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["cuda_rng"])
    return TrainingState(
        epoch=saved["epoch"],
        batch=saved["batch"],
        loss_sum=saved["loss_sum"],
        loss_count=saved["loss_count"],
        best=saved["best"],
        bad_epochs=saved["bad_epochs"],
    )


def load_examples(run: Any, max_length: int) -> Tuple[Examples, Examples]:
    train_pairs, validation_pairs = split_channels(list(run.pairs("train")), list(run.pairs("validation")))
    if not train_pairs:
        raise ValueError("The train channel is empty: give the job a dataset snapshot with training pairs")
    if not validation_pairs:
        # Fewer than ten pairs and no validation channel: nothing to hold out.
        run.log("no validation pairs: the validation metrics are measured on the training pairs", level="warn")
        validation_pairs = train_pairs
    return (
        encode_examples(*texts_and_labels(train_pairs), max_length),
        encode_examples(*texts_and_labels(validation_pairs), max_length),
    )


def train(run: Any) -> int:
    """Trains in run's job directory; returns the exit code (0, or 143 after a stop request)."""
    hp = validate(run.hyperparameters)
    device = resolve_device(hp["device"])
    threads = configure_threads(hp["threads"])
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    train_set, validation_set = load_examples(run, hp["maxLength"])
    run.log(
        f"pytorch-text-classifier: {len(train_set) // 2} training and {len(validation_set) // 2} validation pairs, "
        f"device {device}, {threads} threads (OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}), torch {torch.__version__}"
    )

    torch.manual_seed(hp["seed"])
    model = build_model(architecture(hp)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=hp["learningRate"], weight_decay=hp["weightDecay"])
    latest = run.latest_checkpoint()
    state = load_checkpoint(latest, model, optimizer, hp) if latest else TrainingState()
    if latest:
        run.log(f"resuming from checkpoint {latest.name}")
    saved_at = (state.epoch, state.batch) if latest else None

    def checkpoint() -> None:
        nonlocal saved_at
        # Nothing to keep before the first batch; and a state already saved is not saved again.
        if (state.epoch, state.batch) != (0, 0) and saved_at != (state.epoch, state.batch):
            save_checkpoint(run, state, model, optimizer, hp)
            saved_at = (state.epoch, state.batch)

    loss_function = nn.BCEWithLogitsLoss()
    batch_size, epochs = hp["batchSize"], hp["epochs"]
    batches = math.ceil(len(train_set) / batch_size)
    report_every = max(1, batches // 20)
    warned = False
    model.train()
    while state.epoch < epochs and state.bad_epochs < hp["patience"]:
        order = epoch_order(len(train_set), hp["seed"], state.epoch)
        while state.batch < batches:
            if run.stop_requested:
                checkpoint()
                started = (state.epoch, state.batch) != (0, 0)
                run.log(f"stop requested: checkpoint {checkpoint_name(state)} saved, exiting" if started else "stop requested before training began: exiting")
                return EXIT_STOPPED
            if run.early_warning and not warned:
                warned = True
                checkpoint()
                run.log(f"early warning: checkpoint {checkpoint_name(state)} saved, training on")
            ids, labels = train_set.batch(order[state.batch * batch_size : (state.batch + 1) * batch_size])
            optimizer.zero_grad(set_to_none=True)
            loss = loss_function(model(ids.to(device)), labels.to(device))
            loss.backward()
            optimizer.step()
            state.loss_sum += float(loss.item())
            state.loss_count += 1
            state.batch += 1
            if state.batch % report_every == 0:
                run.progress((state.epoch + state.batch / batches) / epochs, f"epoch {state.epoch + 1}/{epochs}")
        validation = evaluate(model, validation_set, device)
        metrics = {
            "train_loss": state.loss_sum / max(state.loss_count, 1),
            "val_loss": validation["loss"],
            "val_accuracy": validation["accuracy"],
            "val_auc": validation["auc"],
        }
        state.epoch, state.batch, state.loss_sum, state.loss_count = state.epoch + 1, 0, 0.0, 0
        run.metrics(metrics, step=state.epoch)
        if state.best is None or metrics["val_loss"] < state.best["val_loss"]:
            state.best = {"epoch": state.epoch, "val_loss": metrics["val_loss"], "metrics": metrics, "state_dict": cpu_copy(model.state_dict())}
            state.bad_epochs = 0
        else:
            state.bad_epochs += 1
        # After the epoch's metrics, so a keepBest policy scores this checkpoint with them.
        checkpoint()
        run.progress(state.epoch / epochs, f"epoch {state.epoch}/{epochs}: val_loss {metrics['val_loss']:.4f}, val_accuracy {metrics['val_accuracy']:.3f}")

    best = state.best
    if best is None:
        raise RuntimeError("no epoch completed")
    if state.bad_epochs >= hp["patience"]:
        run.log(f"early stopping after epoch {state.epoch}: val_loss has not improved for {hp['patience']} epochs; keeping epoch {best['epoch']}")
    model.load_state_dict(best["state_dict"])
    if best["epoch"] != state.epoch:
        # The exported model is the best epoch's: its metrics come last (at the last epoch's step), so
        # they are the job's final metrics, the ones a validation gate and the version see.
        run.metrics(best["metrics"], step=state.epoch)
    export_model(model, architecture(hp), run.model_dir)
    run.progress(1.0, f"done: exported epoch {best['epoch']}")
    return 0
