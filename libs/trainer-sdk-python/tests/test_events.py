"""Events on fd 3: batching, NaN/Infinity, order, limits, a missing or vanished reader, flat memory."""

from __future__ import annotations

import json
import os
import platform
import time
import unittest

from tests.support import TempDirTest, Trainer, make_job_dir, run_trainer, strict_json
from trainyard._events import MAX_LINE_BYTES, encode_points


class MetricBatchingTest(TempDirTest, unittest.TestCase):
    def test_points_go_out_in_metrics_lines_of_at_most_1000_in_order(self) -> None:
        done = run_trainer(
            """
            from trainyard import Run
            with Run() as run:
                for step in range(2500):
                    run.metric("loss", step / 10, step=step)
            """,
            make_job_dir(self.root),
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.of_type("metrics")
        self.assertEqual(len(lines), len(done.events))
        self.assertTrue(all(len(line["points"]) <= 1000 for line in lines))
        self.assertLessEqual(len(lines), 10)  # batched, not one line per point
        self.assertEqual(done.points(), [["loss", step, step / 10] for step in range(2500)])

    def test_metrics_sends_several_series_at_one_step(self) -> None:
        done = run_trainer(
            """
            from trainyard import Run
            with Run() as run:
                run.metrics({"loss": 0.5, "acc": 0.9}, step=3)
            """,
            make_job_dir(self.root),
        )
        self.assertEqual(done.points(), [["loss", 3, 0.5], ["acc", 3, 0.9]])

    def test_a_lone_point_is_written_within_about_100_ms_while_the_loop_keeps_running(self) -> None:
        trainer = Trainer(
            """
            import sys, time
            from trainyard import Run
            with Run() as run:
                run.metric("loss", 1.0, step=1)
                print("sent", flush=True)
                time.sleep(3)
            """,
            make_job_dir(self.root),
        )
        assert trainer.process.stdout is not None
        self.assertEqual(trainer.process.stdout.readline().strip(), b"sent")
        sent = time.monotonic()
        self.assertEqual(trainer.next_event(timeout=2), {"type": "metrics", "points": [["loss", 1, 1.0]]})
        self.assertLess(time.monotonic() - sent, 0.5)
        trainer.process.kill()
        trainer.finish()

    def test_nan_and_infinity_are_sent_as_null_never_as_bare_tokens(self) -> None:
        done = run_trainer(
            """
            import math
            from trainyard import Run
            with Run() as run:
                run.metric("loss", float("nan"), step=1)
                run.metric("loss", float("inf"), step=2)
                run.metric("loss", -math.inf, step=3)
                run.metric("loss", 0.25, step=float("nan"))
                run.metric("loss", 0.5, step=5)
            """,
            make_job_dir(self.root),
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotIn(b"NaN", done.raw)
        self.assertNotIn(b"Infinity", done.raw)
        self.assertEqual(done.points(), [["loss", 1, None], ["loss", 2, None], ["loss", 3, None], ["loss", None, 0.25], ["loss", 5, 0.5]])

    def test_values_are_taken_as_floats_and_bad_names_refused_at_the_call(self) -> None:
        done = run_trainer(
            """
            import json
            from fractions import Fraction
            from trainyard import Run
            refused = []
            with Run() as run:
                run.metric("acc", Fraction(1, 4), step=1)
                run.metric("acc", True, step=2.5)
                for name, value in [("", 1.0), ("x" * 129, 1.0), ("__proto__", 1.0), ("constructor", 1.0), ("prototype", 1.0), ("ok", "high")]:
                    try:
                        run.metric(name, value, step=1)
                    except ValueError:
                        refused.append(name[:5])
            print(json.dumps(refused))
            """,
            make_job_dir(self.root),
        )
        self.assertEqual(done.points(), [["acc", 1, 0.25], ["acc", 2.5, 1.0]])
        self.assertEqual(done.result(), ["", "xxxxx", "__pro", "const", "proto", "ok"])

    def test_big_batches_are_split_into_lines_under_the_limit(self) -> None:
        points = [(f"series-{index:03d}-" + "n" * 100, index, 0.5) for index in range(1000)]
        whole = encode_points(points)
        self.assertEqual(len(whole), 1)
        lines = encode_points(points, limit=10_000)
        self.assertGreater(len(lines), 10)
        self.assertTrue(all(len(line) < 10_000 and line.endswith(b"\n") for line in lines))
        self.assertEqual([point for line in lines for point in json.loads(line)["points"]], [list(point) for point in points])
        self.assertLess(len(whole[0]), MAX_LINE_BYTES)


class OtherEventsTest(TempDirTest, unittest.TestCase):
    def test_progress_log_artifact_and_checkpoint_events_in_call_order_after_earlier_points(self) -> None:
        job_dir = make_job_dir(self.root)
        done = run_trainer(
            f"""
            import json
            from trainyard import Run
            refused = []
            with Run() as run:
                run.metric("val_loss", 0.3, step=1)
                run.progress(1.5, "epoch 1/1")
                run.progress(-1)
                run.log("hello")
                run.log("x" * 20000, level="warn")
                run.log("\U0001F600" * 6000, level="debug")  # two UTF-16 units each, as Trainyard counts
                run.artifact("output/extra/vocab.json", kind="tokenizer")
                run.artifact({str(job_dir / "output" / "notes.txt")!r})
                for call in [lambda: run.log("m", level="fatal"), lambda: run.progress(float("nan")),
                             lambda: run.artifact("../outside.txt"), lambda: run.artifact("/etc/passwd")]:
                    try:
                        call()
                    except ValueError:
                        refused.append(True)
                with run.checkpoint("epoch-0001", step=1) as directory:
                    (directory / "state.bin").write_bytes(b"weights")
            print(json.dumps(refused))
            """,
            job_dir,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.result(), [True, True, True, True])
        self.assertEqual(
            done.events,
            [
                {"type": "metrics", "points": [["val_loss", 1, 0.3]]},
                {"type": "progress", "fraction": 1.0, "message": "epoch 1/1"},
                {"type": "progress", "fraction": 0.0},
                {"type": "log", "level": "info", "message": "hello"},
                {"type": "log", "level": "warn", "message": "x" * 10000},
                {"type": "log", "level": "debug", "message": "\U0001F600" * 5000},
                {"type": "artifact", "path": "output/extra/vocab.json", "kind": "tokenizer"},
                {"type": "artifact", "path": "output/notes.txt"},
                {"type": "checkpoint", "path": "checkpoints/epoch-0001/state.bin", "step": 1},
            ],
        )

    def test_exit_flushes_then_exits_with_the_code(self) -> None:
        done = run_trainer(
            """
            from trainyard import Run, EXIT_RETRY
            run = Run()
            for step in range(10):
                run.metric("loss", 1.0, step=step)
            run.log("again, please")
            run.exit(EXIT_RETRY)
            """,
            make_job_dir(self.root),
        )
        self.assertEqual(done.returncode, 75)
        self.assertEqual(len(done.points()), 10)
        self.assertEqual(done.events[-1], {"type": "log", "level": "info", "message": "again, please"})

    def test_flush_returns_once_the_events_are_in_the_pipe(self) -> None:
        done = run_trainer(
            """
            import os, signal
            from trainyard import Run
            run = Run()
            run.metric("loss", 1.0, step=1)
            run.flush()
            os.kill(os.getpid(), signal.SIGKILL)  # no chance to write anything after flush()
            """,
            make_job_dir(self.root),
        )
        self.assertEqual(done.returncode, -9)
        self.assertEqual(done.points(), [["loss", 1, 1.0]])

    def test_leaving_the_with_block_closes_fd_3_the_reader_sees_the_end_before_the_process_exits(self) -> None:
        trainer = Trainer(
            """
            import time
            from trainyard import Run
            with Run() as run:
                run.log("last")
            time.sleep(3)
            """,
            make_job_dir(self.root),
        )
        self.assertEqual(trainer.next_event(), {"type": "log", "level": "info", "message": "last"})
        self.assertIsNone(trainer.next_event(timeout=2))  # the end of the stream, while the trainer still sleeps
        self.assertIsNone(trainer.process.poll())
        trainer.process.kill()
        trainer.finish()

    def test_events_queued_without_with_or_exit_are_still_written_at_interpreter_exit(self) -> None:
        done = run_trainer(
            """
            from trainyard import Run
            run = Run()
            run.metric("loss", 1.0, step=1)
            """,
            make_job_dir(self.root),
        )
        self.assertEqual((done.returncode, done.points()), (0, [["loss", 1, 1.0]]))

    def test_an_exception_propagates_with_its_traceback_and_earlier_events_are_written(self) -> None:
        done = run_trainer(
            """
            from trainyard import Run
            with Run() as run:
                run.metric("loss", 1.0, step=1)
                raise RuntimeError("diverged")
            """,
            make_job_dir(self.root),
        )
        self.assertEqual(done.returncode, 1)
        self.assertIn("RuntimeError: diverged", done.stderr)
        self.assertEqual(done.points(), [["loss", 1, 1.0]])


class MissingReaderTest(TempDirTest, unittest.TestCase):
    def test_without_fd_3_events_are_dropped_with_one_warning_and_no_crash(self) -> None:
        done = run_trainer(
            """
            from trainyard import Run
            with Run() as run:
                for step in range(5000):
                    run.metric("loss", 1.0, step=step)
                run.log("nobody hears this")
                with run.checkpoint("epoch-0001") as directory:
                    (directory / "state.bin").write_bytes(b"w")
                run.flush()
            print("finished")
            """,
            make_job_dir(self.root),
            events=False,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(), "finished")
        self.assertEqual(done.stderr.count("trainyard:"), 1)
        self.assertIn("file descriptor 3 is not open", done.stderr)

    def test_a_file_of_the_trainers_own_on_fd_3_opened_for_reading_is_left_alone(self) -> None:
        job_dir = make_job_dir(self.root)
        done = run_trainer(
            """
            import os
            fd = os.open("input/config/job.json", os.O_RDONLY)
            assert fd == 3, fd
            from trainyard import Run
            with Run() as run:
                run.log("not into job.json")
            """,
            job_dir,
            events=False,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("file descriptor 3 is not open for writing", done.stderr)

    def test_a_reader_that_goes_away_costs_one_warning_not_the_run(self) -> None:
        trainer = Trainer(
            """
            import time
            from trainyard import Run
            with Run() as run:
                for step in range(200_000):
                    run.metric("loss", 1.0, step=step)
                run.flush()
            print("finished")
            """,
            make_job_dir(self.root),
            read_events=False,
        )
        assert trainer.read_fd is not None
        os.close(trainer.read_fd)
        done = trainer.finish()
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(), "finished")
        self.assertEqual(done.stderr.count("trainyard:"), 1)
        self.assertIn("further events are dropped", done.stderr)


class FlatMemoryTest(TempDirTest, unittest.TestCase):
    def test_a_reader_that_stops_reading_holds_the_trainer_back_instead_of_filling_memory(self) -> None:
        trainer = Trainer(
            """
            import sys, threading, time
            from trainyard import Run
            sent = 0
            def report():
                time.sleep(1.5)
                print(sent, flush=True)
            threading.Thread(target=report, daemon=True).start()
            with Run() as run:
                for step in range(1_000_000):
                    run.metric("loss", 1.0, step=step)
                    sent += 1
            print(sent, flush=True)
            """,
            make_job_dir(self.root),
            read_events=False,
        )
        assert trainer.process.stdout is not None
        queued_while_stalled = int(trainer.process.stdout.readline())
        # The pipe (64 KiB) and the queue (100 000 points) are full; the loop waits.
        self.assertLess(queued_while_stalled, 250_000)
        trainer.start_reading()
        done = trainer.finish()
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.split()[-1], "1000000")
        self.assertEqual(len(done.points()), 1_000_000)

    def test_a_reading_server_does_not_slow_the_loop_down(self) -> None:
        done = run_trainer(
            """
            import json, time
            from trainyard import Run
            with Run() as run:
                started = time.perf_counter()
                for step in range(200_000):
                    run.metric("loss", 0.5, step=step)
                elapsed = time.perf_counter() - started
            print(json.dumps(elapsed))
            """,
            make_job_dir(self.root),
        )
        self.assertEqual(len(done.points()), 200_000)
        # About 2 microseconds a point here; generous for a busy shared machine.
        self.assertLess(done.result(), 10.0)


if __name__ == "__main__":
    unittest.main()


class EnvironmentTest(TempDirTest, unittest.TestCase):
    def test_the_first_event_reports_python_and_the_installed_package_versions(self) -> None:
        job_dir = make_job_dir(self.root)
        done = run_trainer(
            """
            import json
            from trainyard import Run
            from trainyard._environment import package_versions
            with Run() as run:
                run.log("after")
            print(json.dumps(package_versions(["surely-not-installed-xyz"])))
            """,
            job_dir,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        first = strict_json(done.raw.splitlines()[0])
        self.assertEqual(first["type"], "environment")
        self.assertEqual(first["packages"]["python"], platform.python_version())
        self.assertEqual(done.environment, [first])
        # A package that is not installed is left out, not reported as missing.
        self.assertEqual(done.result(), {"python": platform.python_version()})
