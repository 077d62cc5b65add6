import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import onnx
import torch

from text_classifier.export import export_model, load_model, predict
from text_classifier.model import build_model

ARCHITECTURE = {"maxLength": 48, "embeddingDim": 8, "channels": 6, "kernelSizes": [3, 5], "dropout": 0.2}
TEXTS = ["It is important to note that", "honestly idk", "", "naïve café ☕"]
PACKAGE_DIR = Path(__file__).resolve().parents[1]


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.directory = tempfile.TemporaryDirectory()
        cls.model_dir = Path(cls.directory.name) / "model"
        torch.manual_seed(1)
        cls.model = build_model(ARCHITECTURE)
        export_model(cls.model, ARCHITECTURE, cls.model_dir)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.directory.cleanup()

    def test_writes_a_valid_onnx_model_with_the_contracts_input_and_output(self) -> None:
        model = onnx.load(str(self.model_dir / "model.onnx"))
        onnx.checker.check_model(model)
        [graph_input] = model.graph.input
        self.assertEqual(graph_input.name, "input_ids")
        self.assertEqual(graph_input.type.tensor_type.elem_type, onnx.TensorProto.INT64)
        dims = graph_input.type.tensor_type.shape.dim
        self.assertEqual((dims[0].dim_param, dims[1].dim_value), ("batch", 48))  # dynamic batch, fixed maxLength
        [graph_output] = model.graph.output
        self.assertEqual(graph_output.name, "probability")
        self.assertEqual(graph_output.type.tensor_type.elem_type, onnx.TensorProto.FLOAT)
        self.assertEqual([opset.version for opset in model.opset_import if opset.domain in ("", "ai.onnx")], [13])
        self.assertEqual([d.dim_param for d in graph_output.type.tensor_type.shape.dim], ["batch"])

    def test_writes_scoring_json(self) -> None:
        self.assertEqual(
            json.loads((self.model_dir / "scoring.json").read_text()),
            {"format": "onnx", "input": {"name": "input_ids", "encoding": "utf8-bytes", "maxLength": 48}, "output": {"name": "probability", "kind": "probability"}},
        )

    def test_model_pt_rebuilds_the_same_model(self) -> None:
        loaded, max_length = load_model(self.model_dir)
        self.assertEqual(max_length, 48)
        expected = predict(self.model.eval(), 48, TEXTS)
        self.assertEqual(predict(loaded, max_length, TEXTS), expected)
        self.assertTrue(all(0 < p < 1 for p in expected))

    def test_predict_cli_reads_json_lines_and_prints_probabilities(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE_DIR), os.environ.get("PYTHONPATH", "")])}
        stdin = "".join(json.dumps(text) + "\n" for text in TEXTS)
        out = subprocess.run(
            [sys.executable, "-m", "text_classifier.predict", "--model-dir", str(self.model_dir), "--timing", "--batch-size", "3"],
            input=stdin, capture_output=True, text=True, env=env, check=True, timeout=120,
        )
        loaded, max_length = load_model(self.model_dir)
        # Another batch size may take other kernels: equal within float rounding, not bit for bit.
        torch.testing.assert_close(torch.tensor(json.loads(out.stdout)), torch.tensor(predict(loaded, max_length, TEXTS)), rtol=0, atol=1e-6)
        timing = json.loads(out.stderr.strip().splitlines()[-1])
        self.assertEqual(timing["texts"], len(TEXTS))
        self.assertGreater(timing["seconds"], 0)

    def test_onnx_outputs_match_torch(self) -> None:
        try:
            from onnx.reference import ReferenceEvaluator  # onnx >= 1.13
        except ImportError:
            self.skipTest(f"onnx {onnx.__version__} has no reference evaluator (onnx.reference arrived in 1.13); the Node-side parity test compares them")
        session = ReferenceEvaluator(str(self.model_dir / "model.onnx"))
        from text_classifier.encoding import encode_batch

        [probabilities] = session.run(None, {"input_ids": encode_batch(TEXTS, 48).numpy()})
        loaded, max_length = load_model(self.model_dir)
        torch.testing.assert_close(torch.tensor(probabilities, dtype=torch.float64), torch.tensor(predict(loaded, max_length, TEXTS), dtype=torch.float64), rtol=0, atol=1e-5)


if __name__ == "__main__":
    unittest.main()
