"""The trainer as Trainyard runs it, for the tests: a job directory on disk, the entry script in a
child process started there, fd 3 appended to logs/events.ndjson (as under Slurm)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional

PYTHON_DIR = Path(__file__).resolve().parents[1]
SDK_DIR = PYTHON_DIR.parents[1] / "trainer-sdk-python"
SCRIPT = PYTHON_DIR / "train_text_classifier.py"

AI = ["Furthermore,", "It is important to note that", "Moreover,", "In today's rapidly evolving landscape,"]
HUMAN = ["Honestly,", "Look,", "So", "Thing is,"]
TOPICS = ["climate policy", "remote work", "coffee farming", "space probes", "public transit"]


def demo_pairs(count: int, offset: int = 0) -> List[Dict[str, Any]]:
    """Deterministic (AI, humanized) pairs that differ in style, like libs/trainers/src/synthetic-pairs.ts."""
    pairs = []
    for i in range(offset, offset + count):
        topic = TOPICS[i % len(TOPICS)]
        ai = f"{AI[i % len(AI)]} {topic} plays a pivotal role in modern society, thereby enhancing overall outcomes. (item {i})"
        human = f"{HUMAN[(i // 3) % len(HUMAN)]} {topic} kinda changes stuff, I guess. (item {i})"
        pairs.append({"contentHash": f"{i:064x}", "split": "train", "aiText": ai, "humanizedText": human, "qualityScore": 0.5, "tags": []})
    return pairs


def make_job_dir(root: Path, hyperparameters: Mapping[str, Any], train: int = 200, validation: int = 50) -> Path:
    job_dir = root / "job"
    (job_dir / "input" / "config").mkdir(parents=True)
    (job_dir / "logs").mkdir()
    (job_dir / "input" / "config" / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters)))
    (job_dir / "input" / "config" / "job.json").write_text(json.dumps({"id": "job-1", "name": "test", "attempt": 1}))
    for channel, pairs in (("train", demo_pairs(train)), ("validation", demo_pairs(validation, offset=train))):
        (job_dir / "input" / "data" / channel).mkdir(parents=True)
        (job_dir / "input" / "data" / channel / "data.jsonl").write_text("".join(json.dumps(pair) + "\n" for pair in pairs))
    return job_dir


def start(job_dir: Path, python: Optional[str] = None) -> subprocess.Popen:
    events = os.open(job_dir / "logs" / "events.ndjson", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TRAINYARD_JOB_DIR": str(job_dir),
        "PYTHONPATH": os.pathsep.join([str(SDK_DIR), str(PYTHON_DIR)]),
    }
    try:
        return subprocess.Popen(
            [python or sys.executable, str(SCRIPT)],
            cwd=job_dir,
            env=env,
            pass_fds=(events,),
            preexec_fn=lambda: os.dup2(events, 3),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(events)


def run(job_dir: Path, python: Optional[str] = None) -> subprocess.CompletedProcess:
    process = start(job_dir, python)
    _, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, None, stderr.decode())


def events(job_dir: Path) -> List[Dict[str, Any]]:
    path = job_dir / "logs" / "events.ndjson"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def wait_until(condition: Callable[[], bool], process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            stopped = process.poll() is not None
            process.kill()
            _, stderr = process.communicate()
            reason = f"the trainer exited ({process.returncode})" if stopped else "timed out"
            raise AssertionError(f"{reason} before the condition held: {stderr.decode()[-2000:]}")
        time.sleep(0.005)
