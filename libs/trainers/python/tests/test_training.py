"""The whole trainer through the SDK, in a child process: resume is exact after SIGTERM, the early
warning checkpoints without changing the result, and a missing PyTorch says what to do."""

import os
import signal
import stat
import tempfile
import unittest
from pathlib import Path

import torch

from tests.trainer_process import events, make_job_dir, run, start, wait_until

HYPERPARAMETERS = {"epochs": 5, "patience": 5, "batchSize": 8, "maxLength": 128, "embeddingDim": 16, "channels": 16, "seed": 11, "threads": 1, "device": "cpu"}


def weights(job_dir: Path) -> dict:
    return torch.load(job_dir / "output" / "model" / "model.pt", map_location="cpu")["state_dict"]


class TrainingTest(unittest.TestCase):
    def setUp(self) -> None:
        self.temp = tempfile.TemporaryDirectory(prefix="text-classifier-test-")
        self.root = Path(self.temp.name)

    def tearDown(self) -> None:
        self.temp.cleanup()

    def test_resumes_exactly_after_an_early_warning_and_a_sigterm_mid_epoch(self) -> None:
        straight = make_job_dir(self.root / "straight", HYPERPARAMETERS)
        self.assertEqual(run(straight).returncode, 0)
        names = [e["name"] for e in events(straight) if e["type"] == "metric"] + [p[0] for e in events(straight) if e["type"] == "metrics" for p in e["points"]]
        self.assertTrue({"train_loss", "val_loss", "val_accuracy", "val_auc"} <= set(names))
        first_log = next(e["message"] for e in events(straight) if e["type"] == "log")
        # 1 thread as asked; OpenMP's threads sleep while waiting (the environment did not choose).
        self.assertRegex(first_log, r"^pytorch-text-classifier: 200 training and 50 validation pairs, device cpu, 1 threads \(OMP_WAIT_POLICY=PASSIVE\), torch ")
        self.assertEqual(sorted(p.name for p in (straight / "checkpoints").iterdir()), [f"epoch-000{i}" for i in range(1, 6)])

        interrupted = make_job_dir(self.root / "interrupted", HYPERPARAMETERS)
        checkpoints = interrupted / "checkpoints"
        process = start(interrupted)

        def logs() -> list:
            return [e["message"] for e in events(interrupted) if e["type"] == "log"]

        # Into the second epoch (progress past 1/5), so the early warning lands mid-epoch.
        wait_until(lambda: any(e["type"] == "progress" and e["fraction"] > 0.22 for e in events(interrupted)), process)
        process.send_signal(signal.SIGUSR2)  # Slurm's early warning: checkpoint now, train on
        wait_until(lambda: any(m.startswith("early warning: checkpoint epoch-000") for m in logs()), process)
        self.assertIsNone(process.poll())  # still training
        process.send_signal(signal.SIGTERM)  # cancel: checkpoint, exit promptly
        process.communicate(timeout=60)
        self.assertEqual(process.returncode, 143)
        self.assertFalse((interrupted / "output" / "model" / "model.pt").exists())
        self.assertTrue(any(m.startswith("stop requested: checkpoint epoch-000") for m in logs()), logs())
        # At least one of the two checkpoints was taken mid-epoch, so resuming starts inside an epoch.
        self.assertTrue(any("-batch-" in p.name for p in checkpoints.iterdir()), sorted(p.name for p in checkpoints.iterdir()))

        resumed = run(interrupted)
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertTrue(any(e.get("message", "").startswith("resuming from checkpoint epoch-000") for e in events(interrupted)))
        expected, actual = weights(straight), weights(interrupted)
        self.assertEqual(expected.keys(), actual.keys())
        for name in expected:
            self.assertTrue(torch.equal(expected[name], actual[name]), f"{name} differs after resuming")

    def test_a_python_without_torch_says_how_to_get_it(self) -> None:
        # This interpreter without its site directories (-S): the standard library only, no torch.
        wrapper = self.root / "python-without-torch"
        wrapper.write_text(f'#!/bin/sh\nexec "{os.path.realpath(__import__("sys").executable)}" -S "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        job_dir = make_job_dir(self.root / "no-torch", HYPERPARAMETERS, train=2, validation=1)
        failed = run(job_dir, python=str(wrapper))
        self.assertEqual(failed.returncode, 1)
        [line] = failed.stderr.strip().splitlines()  # one line: the first is the last, which the failed job shows
        self.assertTrue(
            line.startswith(
                "pytorch-text-classifier needs PyTorch: apt-get install python3-torch (Debian) or set TRAINYARD_PYTHON to an interpreter that has it ("
            ),
            line,
        )
        self.assertIn("No module named 'torch'", line)


if __name__ == "__main__":
    unittest.main()
