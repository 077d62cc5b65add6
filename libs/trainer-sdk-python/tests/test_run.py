"""The job directory, hyperparameters, channels, checkpoints and signals, in real trainer processes."""

from __future__ import annotations

import os
import signal
import unittest

from tests.support import TempDirTest, Trainer, make_job_dir, run_trainer

PAIR = {"contentHash": "ab" * 32, "split": "train", "aiText": "It is important to note.", "humanizedText": "Honestly.", "qualityScore": 0.8, "tags": []}


class JobDirectoryTest(TempDirTest, unittest.TestCase):
    def test_without_trainyard_job_dir_run_raises_a_clear_error(self) -> None:
        done = run_trainer("from trainyard import Run\nRun()", None)
        self.assertEqual(done.returncode, 1)
        self.assertIn("RuntimeError: TRAINYARD_JOB_DIR is not set: run this trainer through Trainyard", done.stderr)

    def test_the_sdk_needs_nothing_but_the_standard_library(self) -> None:
        # -S: no site-packages at all; PYTHONPATH still finds the SDK itself.
        done = run_trainer("import sys\nsys.flags.no_site or sys.exit(2)\nimport trainyard._events, trainyard._run\nprint(1)", None, python_flags=["-S"])
        self.assertEqual((done.returncode, done.stdout.strip()), (0, "1"), done.stderr)

    def test_hyperparameters_overlay_the_defaults_and_the_job_is_read(self) -> None:
        job = {"id": "job-7", "name": "seven", "attempt": 2, "trainer": {"kind": "command"}, "datasetSnapshotId": None}
        job_dir = make_job_dir(self.root, hyperparameters={"epochs": 5, "extra": [1]}, job=job)
        done = run_trainer(
            """
            import json
            from trainyard import Run
            with Run(defaults={"epochs": 3, "learning_rate": 0.001}) as run:
                print(json.dumps({"hp": run.hyperparameters, "job": run.job, "attempt": run.attempt,
                                  "dirs": [str(run.job_dir), str(run.model_dir), str(run.checkpoint_dir)],
                                  "model_dir_exists": run.model_dir.is_dir()}))
            """,
            job_dir,
            env={"TRAINYARD_ATTEMPT": "3"},
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        result = done.result()
        self.assertEqual(result["hp"], {"epochs": 5, "learning_rate": 0.001, "extra": [1]})
        self.assertEqual(result["job"], job)
        self.assertEqual(result["attempt"], 3)  # TRAINYARD_ATTEMPT first
        resolved = job_dir.resolve()
        self.assertEqual(result["dirs"], [str(resolved), str(resolved / "output" / "model"), str(resolved / "checkpoints")])
        self.assertTrue(result["model_dir_exists"])

    def test_attempt_falls_back_to_job_json_then_1(self) -> None:
        code = "from trainyard import Run\nprint(Run().attempt)"
        self.assertEqual(run_trainer(code, make_job_dir(self.root / "a", job={"attempt": 4})).result(), 4)
        self.assertEqual(run_trainer(code, make_job_dir(self.root / "b", job={})).result(), 1)

    def test_pairs_are_streamed_line_by_line_and_a_missing_channel_is_empty(self) -> None:
        job_dir = make_job_dir(self.root, channels={"train": [PAIR, {**PAIR, "aiText": "second"}]})
        with (job_dir / "input" / "data" / "train" / "data.jsonl").open("a") as channel:
            channel.write("\n{not json\n")  # reached only after the first two pairs were handed out
        done = run_trainer(
            """
            import json
            from trainyard import Run
            seen = []
            with Run() as run:
                assert run.channel("validation") is None and list(run.pairs("validation")) == []
                assert run.channel("train") == run.job_dir / "input" / "data" / "train" / "data.jsonl"
                try:
                    for pair in run.pairs("train"):
                        seen.append(pair["aiText"])
                except json.JSONDecodeError:
                    seen.append("error after")
                try:
                    run.channel("../config")
                except ValueError:
                    seen.append("bad name refused")
            print(json.dumps(seen))
            """,
            job_dir,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.result(), ["It is important to note.", "second", "error after", "bad name refused"])


class CheckpointTest(TempDirTest, unittest.TestCase):
    def test_a_checkpoint_appears_whole_under_its_name_and_each_file_is_reported(self) -> None:
        job_dir = make_job_dir(self.root)
        done = run_trainer(
            """
            import json, os
            from trainyard import Run
            with Run() as run:
                with run.checkpoint("epoch-0003", step=3) as directory:
                    assert directory.name == "epoch-0003.tmp" and not (run.checkpoint_dir / "epoch-0003").exists()
                    assert run.latest_checkpoint() is None  # a checkpoint being written is not complete
                    (directory / "state.bin").write_bytes(b"weights")
                    (directory / "optimizer").mkdir()
                    (directory / "optimizer" / "adam.bin").write_bytes(b"moments")
                print(json.dumps(str(run.latest_checkpoint())))
            """,
            job_dir,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        checkpoints = job_dir / "checkpoints"
        self.assertEqual(sorted(os.listdir(checkpoints)), ["epoch-0003"])
        self.assertEqual((checkpoints / "epoch-0003" / "state.bin").read_bytes(), b"weights")
        self.assertEqual(done.result(), str(checkpoints.resolve() / "epoch-0003"))
        self.assertEqual(
            done.events,
            [
                {"type": "checkpoint", "path": "checkpoints/epoch-0003/optimizer/adam.bin", "step": 3},
                {"type": "checkpoint", "path": "checkpoints/epoch-0003/state.bin", "step": 3},
            ],
        )

    def test_an_exception_inside_the_block_leaves_nothing_and_reports_nothing(self) -> None:
        job_dir = make_job_dir(self.root)
        done = run_trainer(
            """
            from trainyard import Run
            with Run() as run:
                with run.checkpoint("epoch-0001", step=1) as directory:
                    (directory / "first.bin").write_bytes(b"half")
                    raise OSError("disk full")
            """,
            job_dir,
        )
        self.assertEqual(done.returncode, 1)
        self.assertIn("OSError: disk full", done.stderr)
        self.assertEqual(os.listdir(job_dir / "checkpoints"), [])
        self.assertEqual(done.events, [])

    def test_saving_a_name_again_replaces_it_and_a_temp_dir_left_by_a_killed_attempt_is_cleared(self) -> None:
        job_dir = make_job_dir(self.root)
        (job_dir / "checkpoints" / "latest.tmp").mkdir(parents=True)
        (job_dir / "checkpoints" / "latest.tmp" / "stale.bin").write_bytes(b"from a killed attempt")
        done = run_trainer(
            """
            from trainyard import Run
            with Run() as run:
                for generation in (b"one", b"two"):
                    with run.checkpoint("latest") as directory:
                        (directory / "state.bin").write_bytes(generation)
            """,
            job_dir,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(os.listdir(job_dir / "checkpoints"), ["latest"])
        self.assertEqual(os.listdir(job_dir / "checkpoints" / "latest"), ["state.bin"])
        self.assertEqual((job_dir / "checkpoints" / "latest" / "state.bin").read_bytes(), b"two")
        self.assertEqual([event["path"] for event in done.events], ["checkpoints/latest/state.bin"] * 2)

    def test_latest_checkpoint_is_the_newest_complete_directory(self) -> None:
        job_dir = make_job_dir(self.root)
        checkpoints = job_dir / "checkpoints"
        for name in ("epoch-0002", "epoch-9", "epoch-10", "epoch-11.tmp", "epoch-12.replaced.tmp"):
            (checkpoints / name).mkdir(parents=True)
        (checkpoints / "epoch-99").write_text("a file, not a checkpoint directory")
        code = "from trainyard import Run\nimport json\nlatest = Run().latest_checkpoint()\nprint(json.dumps(latest and latest.name))"
        self.assertEqual(run_trainer(code, job_dir).result(), "epoch-10")
        empty = make_job_dir(self.root / "empty")
        self.assertIsNone(run_trainer(code, empty).result())

    def test_bad_checkpoint_names_are_refused(self) -> None:
        done = run_trainer(
            """
            import json
            from trainyard import Run
            refused = []
            with Run() as run:
                for name in ["", "../escape", "a/b", "..", "name.tmp"]:
                    try:
                        with run.checkpoint(name):
                            pass
                    except ValueError:
                        refused.append(name)
            print(json.dumps(refused))
            """,
            make_job_dir(self.root),
        )
        self.assertEqual(done.result(), ["", "../escape", "a/b", "..", "name.tmp"])


class SignalTest(TempDirTest, unittest.TestCase):
    def test_sigterm_sets_stop_requested_and_the_trainer_checkpoints_and_leaves(self) -> None:
        job_dir = make_job_dir(self.root)
        trainer = Trainer(
            """
            import time
            from trainyard import Run
            with Run() as run:
                run.log("ready")
                step = 0
                while not run.stop_requested:
                    step += 1
                    time.sleep(0.01)
                with run.checkpoint(f"step-{step:06d}", step=step) as directory:
                    (directory / "state.txt").write_text(str(step))
                run.log(f"stopped at {step}, early warning: {run.early_warning}")
            """,
            job_dir,
        )
        trainer.wait_for_event(lambda event: event.get("message") == "ready")
        trainer.process.send_signal(signal.SIGTERM)
        done = trainer.finish()
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual([event["type"] for event in done.events], ["log", "checkpoint", "log"])
        self.assertRegex(done.events[2]["message"], r"^stopped at \d+, early warning: False$")
        self.assertEqual(len(os.listdir(job_dir / "checkpoints")), 1)

    def test_sigusr2_sets_early_warning_and_does_not_stop_the_run(self) -> None:
        trainer = Trainer(
            """
            import time
            from trainyard import Run
            with Run() as run:
                run.log("ready")
                while not run.early_warning:
                    time.sleep(0.01)
                run.log(f"early warning, stop requested: {run.stop_requested}")
            """,
            make_job_dir(self.root),
        )
        trainer.wait_for_event(lambda event: event.get("message") == "ready")
        trainer.process.send_signal(signal.SIGUSR2)
        done = trainer.finish()
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.events[-1]["message"], "early warning, stop requested: False")

    def test_a_handler_installed_before_run_still_hears_sigterm(self) -> None:
        trainer = Trainer(
            """
            import signal, time
            heard = []
            signal.signal(signal.SIGTERM, lambda signum, frame: heard.append(signum))
            from trainyard import Run
            with Run() as run:
                run.log("ready")
                while not run.stop_requested:
                    time.sleep(0.01)
                run.log(f"earlier handler heard {len(heard)}")
            """,
            make_job_dir(self.root),
        )
        trainer.wait_for_event(lambda event: event.get("message") == "ready")
        trainer.process.send_signal(signal.SIGTERM)
        done = trainer.finish()
        self.assertEqual(done.events[-1]["message"], "earlier handler heard 1")

    def test_a_run_made_outside_the_main_thread_works_without_signal_handlers(self) -> None:
        done = run_trainer(
            """
            import threading
            from trainyard import Run
            def train():
                with Run() as run:
                    run.metric("loss", 1.0, step=1)
            thread = threading.Thread(target=train)
            thread.start()
            thread.join()
            """,
            make_job_dir(self.root),
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.points(), [["loss", 1, 1.0]])
        self.assertIn("SIGTERM and SIGUSR2 are not watched", done.stderr)


if __name__ == "__main__":
    unittest.main()
