import os
import unittest

import torch

from text_classifier.training import configure_threads, resolve_device


class DeviceTest(unittest.TestCase):
    def test_auto_is_cuda_when_available_else_the_cpu(self) -> None:
        self.assertEqual(resolve_device("auto").type, "cuda" if torch.cuda.is_available() else "cpu")
        self.assertEqual(resolve_device("cpu").type, "cpu")

    def test_cuda_without_cuda_is_a_clear_error(self) -> None:
        if torch.cuda.is_available():
            self.skipTest("CUDA is available here")
        with self.assertRaisesRegex(RuntimeError, r"device is cuda but torch.cuda.is_available\(\) is False"):
            resolve_device("cuda")

    def test_threads_0_uses_every_core_the_process_may_run_on(self) -> None:
        before = torch.get_num_threads()
        try:
            self.assertEqual(configure_threads(0), len(os.sched_getaffinity(0)))
            self.assertEqual(torch.get_num_threads(), len(os.sched_getaffinity(0)))
            self.assertEqual(configure_threads(1), 1)
            self.assertEqual(torch.get_num_threads(), 1)
        finally:
            torch.set_num_threads(before)


if __name__ == "__main__":
    unittest.main()
