"""Real trainer processes for the tests: a job directory on disk and a pipe on fd 3, as Trainyard runs them."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional

SDK_DIR = Path(__file__).resolve().parent.parent


def make_job_dir(
    root: Path,
    hyperparameters: Optional[Mapping[str, Any]] = None,
    job: Optional[Mapping[str, Any]] = None,
    channels: Optional[Mapping[str, Iterable[Mapping[str, Any]]]] = None,
) -> Path:
    job_dir = root / "job"
    config = job_dir / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters or {})))
    (config / "job.json").write_text(json.dumps(dict(job or {"id": "job-1", "name": "test", "attempt": 1, "trainer": {}, "datasetSnapshotId": None})))
    for name, pairs in (channels or {}).items():
        (job_dir / "input" / "data" / name).mkdir(parents=True)
        (job_dir / "input" / "data" / name / "data.jsonl").write_text("".join(json.dumps(pair) + "\n" for pair in pairs))
    return job_dir


class TempDirTest:
    """Mixin: self.root, a fresh directory per test."""

    def setUp(self) -> None:  # noqa: D401
        self._temp = tempfile.TemporaryDirectory(prefix="trainyard-sdk-test-")
        self.root = Path(self._temp.name)

    def tearDown(self) -> None:
        self._temp.cleanup()


def strict_json(line: bytes) -> Dict[str, Any]:
    """Parses like Trainyard's strict reader would want: NaN or Infinity tokens fail."""

    def refuse(token: str) -> None:
        raise ValueError(f"non-JSON token {token}")

    event: Dict[str, Any] = json.loads(line, parse_constant=refuse)
    return event


class Trainer:
    """A Python trainer subprocess whose fd 3 is the write end of a pipe we read (or closed, with events=False)."""

    def __init__(self, code: str, job_dir: Optional[Path], *, events: bool = True, env: Optional[Mapping[str, str]] = None, read_events: bool = True, python_flags: Iterable[str] = ()) -> None:
        environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(SDK_DIR), "PYTHONDONTWRITEBYTECODE": "1"}
        if job_dir is not None:
            environment["TRAINYARD_JOB_DIR"] = str(job_dir)
        environment.update(env or {})
        self.lines: "queue.Queue[Optional[bytes]]" = queue.Queue()
        self.raw = bytearray()
        self._reader: Optional[threading.Thread] = None
        self.read_fd: Optional[int] = None
        write_fd: Optional[int] = None
        if events:
            self.read_fd, write_fd = os.pipe()

        def fd3() -> None:  # in the child, before exec: the pipe becomes fd 3, as Trainyard's executor does it
            if write_fd is not None:
                os.dup2(write_fd, 3)  # the copy is inheritable; our other descriptors are not (PEP 446)
                os.set_inheritable(3, True)

        self.process = subprocess.Popen(
            [sys.executable, *python_flags, "-c", textwrap.dedent(code)],
            env=environment,
            cwd=str(job_dir) if job_dir is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # With events, only fd 3 reaches the child (close_fds would close it after fd3() ran);
            # without, every descriptor above 2 is closed.
            close_fds=not events,
            preexec_fn=fd3,
        )
        if write_fd is not None:
            os.close(write_fd)
        if events and read_events:
            self.start_reading()

    def start_reading(self) -> None:
        assert self.read_fd is not None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.read_fd is not None
        with os.fdopen(self.read_fd, "rb") as pipe:
            for line in pipe:
                self.raw.extend(line)
                self.lines.put(line)
        self.lines.put(None)

    def next_event(self, timeout: float = 10.0) -> Optional[Dict[str, Any]]:
        """The next event but the run's environment (its first, checked on its own in EnvironmentTest)."""
        while True:
            line = self.lines.get(timeout=timeout)
            event = None if line is None else strict_json(line)
            if event is None or event["type"] != "environment":
                return event

    def wait_for_event(self, predicate: Any, timeout: float = 10.0) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            event = self.next_event(max(0.01, deadline - time.monotonic()))
            if event is None:
                raise AssertionError("the event stream ended before the awaited event")
            if predicate(event):
                return event

    def finish(self, timeout: float = 60.0) -> "Finished":
        stdout, stderr = self.process.communicate(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout)
        return Finished(self.process.returncode, stdout.decode(), stderr.decode(), bytes(self.raw))


class Finished:
    def __init__(self, returncode: int, stdout: str, stderr: str, raw: bytes) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.raw = raw
        every = [strict_json(line) for line in raw.splitlines()]
        # The SDK's first event, the run's environment (package versions), is checked on its own.
        self.environment: List[Dict[str, Any]] = [event for event in every if event["type"] == "environment"]
        self.events: List[Dict[str, Any]] = [event for event in every if event["type"] != "environment"]

    def of_type(self, kind: str) -> List[Dict[str, Any]]:
        return [event for event in self.events if event["type"] == kind]

    def points(self) -> List[List[Any]]:
        return [point for event in self.of_type("metrics") for point in event["points"]]

    def result(self) -> Any:
        """The last stdout line, as JSON (trainers in the tests print what they saw)."""
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_trainer(code: str, job_dir: Optional[Path], **options: Any) -> Finished:
    return Trainer(code, job_dir, **options).finish()
