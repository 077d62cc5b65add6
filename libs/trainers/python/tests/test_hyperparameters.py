import unittest

from text_classifier.hyperparameters import DEFAULTS, HyperparameterError, architecture, validate


class HyperparametersTest(unittest.TestCase):
    def test_fills_in_defaults(self) -> None:
        self.assertEqual(validate({}), DEFAULTS)
        self.assertEqual(validate({"epochs": 2})["epochs"], 2)
        self.assertEqual(architecture(validate({}))["maxLength"], 512)

    def test_refuses_unknown_names_and_out_of_range_values_listing_each(self) -> None:
        with self.assertRaises(HyperparameterError) as caught:
            validate({"epochs": 0, "learningRate": 0, "device": "tpu", "lr": 1, "kernelSizes": [3, 4], "batchSize": 2.5, "patience": True})
        message = str(caught.exception)
        for expected in [
            "lr: unknown hyperparameter",
            "epochs: must be between 1 and 200",
            "learningRate: must be > 0",
            "device: must be one of auto, cpu, cuda",
            "kernelSizes: kernel widths must be odd",
            "batchSize: expected an integer",
            "patience: expected an integer",
        ]:
            self.assertIn(expected, message)

    def test_bounds_match_the_typescript_schema_edges(self) -> None:
        validate({"maxLength": 16, "embeddingDim": 256, "channels": 512, "kernelSizes": [1, 3, 5, 15], "dropout": 0.9, "seed": 2**31 - 1, "threads": 0})
        for bad in [{"maxLength": 8193}, {"kernelSizes": []}, {"kernelSizes": [1, 3, 5, 7, 9]}, {"dropout": 0.95}, {"seed": -1}]:
            with self.assertRaises(HyperparameterError):
                validate(bad)


if __name__ == "__main__":
    unittest.main()
