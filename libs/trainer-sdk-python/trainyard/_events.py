"""The event stream: one JSON object per line on file descriptor 3 (PROTOCOL.md, "Events").

Metric points are batched into `metrics` lines and everything is written by a background
thread, so a training loop never waits for the reader; the queue is bounded, so memory stays
flat and the loop blocks only when the reader has stopped reading for a long while.
"""

from __future__ import annotations

import json
import math
import os
import stat
import sys
import threading
import time
from collections import deque
from typing import Any, Deque, Dict, Iterable, List, Optional, Sequence, Tuple, Union

try:  # Unix only; elsewhere fd 3 is taken as it is.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

EVENTS_FD = 3
# Trainyard skips longer lines.
MAX_LINE_BYTES = 1024 * 1024
BATCH_POINTS = 1_000
FLUSH_SECONDS = 0.1
# What may wait for the writer before a producer blocks: about 10 MB of points, 8 MiB of other lines.
MAX_QUEUED_POINTS = 100_000
MAX_QUEUED_BYTES = 8 * 1024 * 1024
# One write(2) carries several lines: fewer system calls for a fast trainer.
WRITE_CHUNK_BYTES = 256 * 1024

Step = Union[int, float]
Point = Tuple[str, Step, float]
Item = Union[bytes, List[Point]]


def warn(message: str) -> None:
    print(f"trainyard: {message}", file=sys.stderr, flush=True)


def encode(event: Dict[str, Any]) -> bytes:
    """One event line: strict JSON (a NaN raises instead of becoming a bare token), ASCII only."""
    return (json.dumps(event, allow_nan=False, separators=(",", ":")) + "\n").encode("ascii")


def _finite_or_none(number: Step) -> Optional[Step]:
    return number if math.isfinite(number) else None


def encode_points(points: Sequence[Point], limit: int = MAX_LINE_BYTES) -> List[bytes]:
    """`metrics` lines for these points, NaN/Infinity sent as null, each line shorter than `limit`."""
    line = encode({"type": "metrics", "points": [[name, _finite_or_none(step), _finite_or_none(value)] for name, step, value in points]})
    if len(line) < limit:
        return [line]
    if len(points) == 1:
        warn(f"metric point {points[0][0][:64]!r} is longer than a line may be; dropped")
        return []
    half = len(points) // 2
    return encode_points(points[:half], limit) + encode_points(points[half:], limit)


def writable_events_fd(fd: int = EVENTS_FD) -> Optional[int]:
    """`fd` when it is open for writing to a pipe, socket, file or device (as Trainyard opens it), else None."""
    try:
        mode = os.fstat(fd).st_mode
        flags = fcntl.fcntl(fd, fcntl.F_GETFL) if fcntl is not None else os.O_WRONLY
    except OSError:
        return None
    if flags & os.O_ACCMODE == os.O_RDONLY:
        return None  # a file of the trainer's own that happens to be fd 3
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
        return None
    return fd


class EventStream:
    """Events in order, written by one background thread; None as `fd` drops them all."""

    def __init__(
        self,
        fd: Optional[int],
        *,
        batch_points: int = BATCH_POINTS,
        flush_seconds: float = FLUSH_SECONDS,
        max_queued_points: int = MAX_QUEUED_POINTS,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
    ) -> None:
        self._fd = fd
        self._batch_points = batch_points
        self._flush_seconds = flush_seconds
        self._max_queued_points = max_queued_points
        self._max_queued_bytes = max_queued_bytes
        lock = threading.Lock()
        self._wake_writer = threading.Condition(lock)
        self._progressed = threading.Condition(lock)  # producers waiting for room, flush() waiting for writes
        self._open_batch: List[Point] = []
        self._open_since = 0.0
        self._queue: Deque[Item] = deque()
        self._queued_points = 0
        self._queued_bytes = 0
        self._enqueued = 0
        self._written = 0
        self._closing = False
        self._dropping = fd is None
        self._thread: Optional[threading.Thread] = None
        if fd is not None:
            self._thread = threading.Thread(target=self._write_loop, name="trainyard-events", daemon=True)
            self._thread.start()

    # Producers (the trainer's threads) -------------------------------------------------------

    def points(self, points: Iterable[Point]) -> None:
        with self._wake_writer:
            for point in points:
                if self._dropping:
                    return
                while self._queued_points >= self._max_queued_points and not self._dropping:
                    self._seal()
                    self._wake_writer.notify()
                    self._progressed.wait()
                if not self._open_batch:
                    self._open_since = time.monotonic()
                    self._wake_writer.notify()  # starts the writer's flush clock
                self._open_batch.append(point)
                self._queued_points += 1
                if len(self._open_batch) >= self._batch_points:
                    self._seal()
                    self._wake_writer.notify()

    def line(self, line: bytes) -> None:
        if len(line) >= MAX_LINE_BYTES:
            warn(f"event longer than {MAX_LINE_BYTES} bytes; dropped: {line[:120]!r}")
            return
        with self._wake_writer:
            while self._queued_bytes >= self._max_queued_bytes and not self._dropping:
                self._wake_writer.notify()
                self._progressed.wait()
            if self._dropping:
                return
            self._seal()  # points sent before this event stay before it (a checkpoint is scored by them)
            self._queue.append(line)
            self._enqueued += 1
            self._queued_bytes += len(line)
            self._wake_writer.notify()

    def flush(self) -> None:
        """Returns once everything queued so far is written (or dropped)."""
        with self._wake_writer:
            self._seal()
            target = self._enqueued
            self._wake_writer.notify()
            while self._written < target and not self._dropping:
                self._progressed.wait()

    def close(self) -> None:
        """Writes what is queued, stops the writer and closes the descriptor (the reader sees the end)."""
        with self._wake_writer:
            if self._closing:
                return
            self._seal()
            self._closing = True
            self._wake_writer.notify()
        if self._thread is not None:
            self._thread.join()
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass

    def _seal(self) -> None:
        """Moves the open batch of points to the queue (lock held)."""
        if self._open_batch:
            self._queue.append(self._open_batch)
            self._open_batch = []
            self._enqueued += 1

    # The writer thread --------------------------------------------------------------------------

    def _take(self) -> List[Item]:
        with self._wake_writer:
            while not self._queue and not self._closing:
                if self._open_batch:
                    remaining = self._open_since + self._flush_seconds - time.monotonic()
                    if remaining <= 0:
                        self._seal()
                        break
                    self._wake_writer.wait(remaining)
                else:
                    self._wake_writer.wait()
            self._seal()
            items = list(self._queue)
            self._queue.clear()
            return items

    def _done(self, items: List[Item]) -> None:
        with self._wake_writer:
            self._written += len(items)
            for item in items:
                if isinstance(item, bytes):
                    self._queued_bytes -= len(item)
                else:
                    self._queued_points -= len(item)
            self._progressed.notify_all()

    def _write_loop(self) -> None:
        while True:
            items = self._take()
            if not items:
                return  # closing, and nothing left
            if not self._dropping:
                self._write(items)
            self._done(items)

    def _write(self, items: List[Item]) -> None:
        assert self._fd is not None
        chunk: List[bytes] = []
        size = 0
        try:
            for item in items:
                for line in [item] if isinstance(item, bytes) else encode_points(item):
                    chunk.append(line)
                    size += len(line)
                    if size >= WRITE_CHUNK_BYTES:
                        _write_all(self._fd, b"".join(chunk))
                        chunk, size = [], 0
            if chunk:
                _write_all(self._fd, b"".join(chunk))
        except OSError as error:
            # The reader is gone (EPIPE) or the descriptor broke: training goes on without events.
            warn(f"writing events to fd {self._fd} failed ({error}); further events are dropped")
            with self._wake_writer:
                self._dropping = True
                self._progressed.notify_all()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
