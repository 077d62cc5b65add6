"""The trainer's hyperparameters: the same strict, bounded schema as the TypeScript catalog entry
(libs/trainers/src/pytorch-text-classifier.builtin.ts), checked again here so the trainer is safe
to run by hand or from another launcher. Unknown names and out-of-range values are refused."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Tuple

Check = Callable[[str, Any], Any]


class HyperparameterError(ValueError):
    """Invalid hyperparameters: the message names every problem, one per `; `."""


def _integer(low: int, high: int) -> Check:
    def check(name: str, value: Any) -> int:
        # bool is an int in Python; JSON true is not a number.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise HyperparameterError(f"{name}: expected an integer")
        if not low <= value <= high:
            raise HyperparameterError(f"{name}: must be between {low} and {high}")
        return int(value)

    return check


def _number(low: float, high: float, low_open: bool = False) -> Check:
    def check(name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise HyperparameterError(f"{name}: expected a number")
        if value > high or value < low or (low_open and value == low):
            raise HyperparameterError(f"{name}: must be {'>' if low_open else '>='} {low} and <= {high}")
        return float(value)

    return check


def _choice(*options: str) -> Check:
    def check(name: str, value: Any) -> str:
        if value not in options:
            raise HyperparameterError(f"{name}: must be one of {', '.join(options)}")
        return str(value)

    return check


def _kernel_sizes(name: str, value: Any) -> List[int]:
    if isinstance(value, str) and len(value) <= 64:  # "3,5", as the web form's text field sends it
        try:
            value = [int(part) for part in value.split(",")]
        except ValueError:
            raise HyperparameterError(f"{name}: comma-separated integers, e.g. 3,5") from None
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        raise HyperparameterError(f"{name}: expected 1 to 4 kernel widths")
    widths = [_integer(1, 15)(f"{name}.{i}", width) for i, width in enumerate(value)]
    if any(width % 2 == 0 for width in widths):
        # An odd width keeps each position's output aligned with its byte, so padding can be masked out.
        raise HyperparameterError(f"{name}: kernel widths must be odd")
    return widths


SCHEMA: Dict[str, Tuple[Check, Any]] = {
    "epochs": (_integer(1, 200), 5),
    "batchSize": (_integer(1, 1024), 32),
    "learningRate": (_number(0, 1, low_open=True), 0.003),
    "weightDecay": (_number(0, 1), 0.0),
    "maxLength": (_integer(16, 8192), 512),
    "embeddingDim": (_integer(4, 256), 32),
    "channels": (_integer(4, 512), 32),
    "kernelSizes": (_kernel_sizes, [3, 5]),
    "dropout": (_number(0, 0.9), 0.1),
    "patience": (_integer(1, 100), 3),
    "seed": (_integer(0, 2**31 - 1), 42),
    "device": (_choice("auto", "cpu", "cuda"), "auto"),
    "threads": (_integer(0, 256), 0),
}

DEFAULTS: Dict[str, Any] = {name: default for name, (_, default) in SCHEMA.items()}


def validate(values: Mapping[str, Any]) -> Dict[str, Any]:
    """The hyperparameters with defaults filled in, or HyperparameterError listing every problem."""
    problems = [f"{name}: unknown hyperparameter" for name in values if name not in SCHEMA]
    result: Dict[str, Any] = {}
    for name, (check, default) in SCHEMA.items():
        try:
            result[name] = check(name, values[name]) if name in values else (list(default) if isinstance(default, list) else default)
        except HyperparameterError as error:
            problems.append(str(error))
    if problems:
        raise HyperparameterError("Invalid hyperparameters for pytorch-text-classifier: " + "; ".join(problems))
    return result


ARCHITECTURE_KEYS = ("maxLength", "embeddingDim", "channels", "kernelSizes", "dropout")


def architecture(hyperparameters: Mapping[str, Any]) -> Dict[str, Any]:
    """The hyperparameters that shape the network (saved with model.pt to rebuild it)."""
    return {key: hyperparameters[key] for key in ARCHITECTURE_KEYS}
