"""One run of a trainer inside Trainyard's job directory (PROTOCOL.md)."""

from __future__ import annotations

import atexit
import json
import math
import os
import re
import shutil
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Set, Tuple, Type, Union

from ._environment import package_versions
from ._events import EventStream, Point, Step, encode, warn, writable_events_fd

EXIT_OK = 0
EXIT_RETRY = 75  # EX_TEMPFAIL: Trainyard runs the job again at once (while attempts remain)

LOG_LEVELS = ("debug", "info", "warn", "error")
# The limits Trainyard's event schema sets (libs/training/src/trainer-events.ts), in UTF-16 units.
MAX_NAME_UNITS = 128
MAX_PROGRESS_MESSAGE_UNITS = 1_000
MAX_LOG_MESSAGE_UNITS = 10_000
MAX_PATH_UNITS = 1_024
MAX_KIND_UNITS = 32
RESERVED_NAMES = frozenset(("__proto__", "constructor", "prototype"))
CHANNEL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
TEMP_SUFFIX = ".tmp"

_SignalHandler = Union[Callable[[int, Optional[FrameType]], Any], int, None]


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _truncate(text: str, units: int) -> str:
    """The longest prefix of at most `units` UTF-16 units (how Trainyard counts a string's length)."""
    if len(text) <= units // 2:
        return text
    count = 0
    for index, character in enumerate(text):
        count += 2 if ord(character) > 0xFFFF else 1
        if count > units:
            return text[:index]
    return text


def _natural_key(name: str) -> List[Tuple[int, Union[int, str]]]:
    """epoch-9 before epoch-10 (zero-padded names sort the same either way)."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part]


def _read_json_object(path: Path) -> Dict[str, Any]:
    if not path.is_file():
        return {}
    value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        raise RuntimeError(f"{path} does not hold a JSON object")
    return value


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Run:
    """The trainer's side of the protocol. Use as `with Run(defaults={...}) as run:`."""

    def __init__(self, defaults: Optional[Mapping[str, Any]] = None) -> None:
        job_dir = os.environ.get("TRAINYARD_JOB_DIR")
        if not job_dir:
            raise RuntimeError("TRAINYARD_JOB_DIR is not set: run this trainer through Trainyard (it sets up the job directory)")
        self.job_dir: Path = Path(job_dir).resolve()
        if not self.job_dir.is_dir():
            raise RuntimeError(f"TRAINYARD_JOB_DIR {job_dir} is not a directory")
        config = self.job_dir / "input" / "config"
        self.hyperparameters: Dict[str, Any] = {**(defaults or {}), **_read_json_object(config / "hyperparameters.json")}
        self.job: Dict[str, Any] = _read_json_object(config / "job.json")
        attempt = os.environ.get("TRAINYARD_ATTEMPT") or self.job.get("attempt") or 1
        self.attempt: int = int(attempt)
        self.model_dir: Path = self.job_dir / "output" / "model"
        self.checkpoint_dir: Path = self.job_dir / "checkpoints"
        self.model_dir.mkdir(parents=True, exist_ok=True)
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)

        self._stop_requested = False
        self._early_warning = False
        self._previous_handlers: Dict[int, _SignalHandler] = {}
        self._install_signal_handlers()

        fd = writable_events_fd()
        if fd is None:
            warn("file descriptor 3 is not open for writing (not run by Trainyard?): events are dropped")
        self._events = EventStream(fd)
        # First event of every run: the package versions, recorded in the job's trainer identity.
        self._events.line(encode({"type": "environment", "packages": package_versions()}))
        self._valid_names: Set[str] = set()
        self._closed = False
        atexit.register(self.close)

    # Context manager ---------------------------------------------------------------------------

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind: Optional[Type[BaseException]], error: Optional[BaseException], traceback: Optional[TracebackType]) -> None:
        self.close()

    def close(self) -> None:
        """Flushes and closes the event stream, and gives the signals back their previous handlers."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        self._events.close()
        if threading.current_thread() is threading.main_thread():
            for signum, handler in self._previous_handlers.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def flush(self) -> None:
        """Waits until every event queued so far is written."""
        self._events.flush()

    def exit(self, code: int = EXIT_OK) -> None:
        """Flushes and closes the event stream, then exits with `code` (EXIT_RETRY: run me again)."""
        self.close()
        sys.exit(code)

    # Signals -----------------------------------------------------------------------------------

    @property
    def stop_requested(self) -> bool:
        """SIGTERM arrived (cancel, timeout): save a checkpoint and exit soon."""
        return self._stop_requested

    @property
    def early_warning(self) -> bool:
        """SIGUSR2 arrived (Slurm, 90 s before the time limit): save a checkpoint now."""
        return self._early_warning

    def _install_signal_handlers(self) -> None:
        # Python only lets the main thread set handlers; a Run made elsewhere does without them.
        if threading.current_thread() is not threading.main_thread():
            warn("Run() was created outside the main thread: SIGTERM and SIGUSR2 are not watched")
            return
        watched = [(signal.SIGTERM, "_stop_requested")]
        if hasattr(signal, "SIGUSR2"):
            watched.append((signal.SIGUSR2, "_early_warning"))
        for signum, flag in watched:
            previous = signal.getsignal(signum)

            def handler(received: int, frame: Optional[FrameType], flag: str = flag, previous: _SignalHandler = previous) -> None:
                setattr(self, flag, True)
                # Another library's Python handler still hears it; the default action (death) does not run.
                if callable(previous) and previous not in (signal.default_int_handler,):
                    previous(received, frame)

            signal.signal(signum, handler)
            self._previous_handlers[signum] = previous

    # Inputs ------------------------------------------------------------------------------------

    def channel(self, name: str) -> Optional[Path]:
        """input/data/<name>/data.jsonl, or None when the job has no such channel."""
        if not CHANNEL_NAME.fullmatch(name):
            raise ValueError(f"channel name {name!r}: letters, digits, _ and - only")
        path = self.job_dir / "input" / "data" / name / "data.jsonl"
        return path if path.is_file() else None

    def pairs(self, name: str = "train") -> Iterator[Dict[str, Any]]:
        """The channel's pairs, read line by line (nothing when the job has no such channel)."""
        path = self.channel(name)
        if path is None:
            return
        with path.open("r", encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)

    # Events ------------------------------------------------------------------------------------

    def metric(self, name: str, value: float, step: Step) -> None:
        """One point of a time series; batched and written in the background. NaN/Infinity are sent as null."""
        self._events.points([self._point(name, value, step)])

    def metrics(self, values: Mapping[str, float], step: Step) -> None:
        """Several series at one step."""
        self._events.points([self._point(name, value, step) for name, value in values.items()])

    def _point(self, name: str, value: float, step: Step) -> Point:
        if name not in self._valid_names:
            if not isinstance(name, str) or not 1 <= _utf16_units(name) <= MAX_NAME_UNITS or name in RESERVED_NAMES:
                raise ValueError(f"metric name {name!r}: 1 to {MAX_NAME_UNITS} characters, not {', '.join(sorted(RESERVED_NAMES))}")
            self._valid_names.add(name)
        # float() takes ints, numpy scalars and one-element tensors; a string raises here, not in the writer.
        return (name, step if type(step) is int else float(step), float(value))

    def progress(self, fraction: float, message: Optional[str] = None) -> None:
        """How far the run is (0..1, clamped), shown live."""
        fraction = float(fraction)
        if not math.isfinite(fraction):
            raise ValueError(f"progress fraction must be a finite number, not {fraction}")
        event: Dict[str, Any] = {"type": "progress", "fraction": min(1.0, max(0.0, fraction))}
        if message:
            event["message"] = _truncate(str(message), MAX_PROGRESS_MESSAGE_UNITS)
        self._events.line(encode(event))

    def log(self, message: str, level: str = "info") -> None:
        """A structured log line (debug, info, warn or error), kept in logs/events.log."""
        if level not in LOG_LEVELS:
            raise ValueError(f"log level {level!r}: one of {', '.join(LOG_LEVELS)}")
        self._events.line(encode({"type": "log", "level": level, "message": _truncate(str(message), MAX_LOG_MESSAGE_UNITS)}))

    def artifact(self, path: Union[str, "os.PathLike[str]"], kind: Optional[str] = None) -> None:
        """An extra file to keep with the model version: a path relative to the job dir, or absolute inside it."""
        relative = self._relative_to_job_dir(path)
        event: Dict[str, Any] = {"type": "artifact", "path": relative}
        if kind is not None:
            if not 1 <= _utf16_units(kind) <= MAX_KIND_UNITS:
                raise ValueError(f"artifact kind {kind!r}: 1 to {MAX_KIND_UNITS} characters")
            event["kind"] = kind
        self._events.line(encode(event))

    def _relative_to_job_dir(self, path: Union[str, "os.PathLike[str]"]) -> str:
        given = Path(path)
        absolute = given if given.is_absolute() else self.job_dir / given
        normalized = Path(os.path.normpath(absolute))
        try:
            relative = normalized.relative_to(self.job_dir).as_posix()
        except ValueError:
            raise ValueError(f"{path} is not inside the job directory {self.job_dir}") from None
        if relative in ("", ".") or _utf16_units(relative) > MAX_PATH_UNITS:
            raise ValueError(f"{path}: a file inside the job directory, at most {MAX_PATH_UNITS} characters")
        return relative

    # Checkpoints -------------------------------------------------------------------------------

    @contextmanager
    def checkpoint(self, name: str, step: Optional[Step] = None) -> Iterator[Path]:
        """A directory to write the checkpoint in; renamed to checkpoints/<name> and reported when the block ends.

        On an exception the directory is removed and nothing is reported.
        """
        if not name or "/" in name or "\\" in name or name in (".", "..") or name.endswith(TEMP_SUFFIX) or _utf16_units(name) > 200:
            raise ValueError(f"checkpoint name {name!r}: one directory name, not ending in {TEMP_SUFFIX} (e.g. epoch-0003)")
        final = self.checkpoint_dir / name
        temp = self.checkpoint_dir / f"{name}{TEMP_SUFFIX}"
        shutil.rmtree(temp, ignore_errors=True)  # left by an attempt that was killed mid-write
        temp.mkdir(parents=True)
        try:
            yield temp
            files = sorted(path for path in temp.rglob("*") if path.is_file())
            for path in files:
                _fsync(path)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        # Complete or absent, even if we are killed: a same-named older checkpoint is moved aside first.
        replaced = self.checkpoint_dir / f"{name}.replaced{TEMP_SUFFIX}"
        if final.exists():
            shutil.rmtree(replaced, ignore_errors=True)
            final.rename(replaced)
        temp.rename(final)
        try:
            _fsync(self.checkpoint_dir)  # the rename itself survives a crash
        except OSError:
            pass  # a directory cannot be opened for fsync everywhere (Windows)
        shutil.rmtree(replaced, ignore_errors=True)
        for path in files:
            event: Dict[str, Any] = {"type": "checkpoint", "path": f"checkpoints/{name}/{path.relative_to(temp).as_posix()}"}
            if step is not None:
                event["step"] = step
            self._events.line(encode(event))

    def latest_checkpoint(self) -> Optional[Path]:
        """The newest complete checkpoints/<name>/ (by name, digits compared as numbers), or None."""
        names = [entry.name for entry in os.scandir(self.checkpoint_dir) if entry.is_dir() and not entry.name.endswith(TEMP_SUFFIX)]
        if not names:
            return None
        return self.checkpoint_dir / max(names, key=_natural_key)
