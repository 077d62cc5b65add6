import unittest

import torch

from text_classifier.encoding import encode_batch
from text_classifier.evaluation import auc
from text_classifier.model import build_model

ARCHITECTURE = {"maxLength": 64, "embeddingDim": 8, "channels": 6, "kernelSizes": [3, 5], "dropout": 0.1}


class ModelTest(unittest.TestCase):
    def setUp(self) -> None:
        torch.manual_seed(0)
        self.model = build_model(ARCHITECTURE).eval()

    def test_one_logit_per_text(self) -> None:
        self.assertEqual(self.model(encode_batch(["a", "bb", "ccc"], 64)).shape, (3,))

    def test_padding_does_not_change_the_logit(self) -> None:
        # Training cuts a batch to its longest text; the ONNX contract pads to maxLength.
        texts = ["Furthermore, it is important to note.", "ok", ""]
        short = self.model(encode_batch(texts, 64, pad_to=40))
        full = self.model(encode_batch(texts, 64))
        alone = torch.cat([self.model(encode_batch([text], 64, pad_to=max(len(text.encode()), 1))) for text in texts])
        torch.testing.assert_close(short, full, rtol=0, atol=1e-6)
        torch.testing.assert_close(alone, full, rtol=0, atol=1e-6)
        self.assertTrue(torch.isfinite(full).all())

    def test_the_padding_embedding_stays_zero_through_training(self) -> None:
        model = build_model(ARCHITECTURE).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
        for _ in range(3):
            optimizer.zero_grad()
            model(encode_batch(["abc", "a"], 64, pad_to=4)).sum().backward()
            optimizer.step()
        self.assertEqual(float(model.embedding.weight[0].abs().sum()), 0.0)


class AucTest(unittest.TestCase):
    def test_rank_auc_with_ties(self) -> None:
        self.assertEqual(auc(torch.tensor([0.9, 0.8, 0.1, 0.2]), torch.tensor([1.0, 1.0, 0.0, 0.0])), 1.0)
        self.assertEqual(auc(torch.tensor([0.1, 0.2, 0.9, 0.8]), torch.tensor([1.0, 1.0, 0.0, 0.0])), 0.0)
        self.assertEqual(auc(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])), 0.5)
        self.assertAlmostEqual(auc(torch.tensor([0.9, 0.3, 0.5, 0.1]), torch.tensor([1.0, 1.0, 0.0, 0.0])), 0.75)


if __name__ == "__main__":
    unittest.main()
