import unittest

import torch

from text_classifier.data import encode_examples, epoch_order, split_channels, texts_and_labels
from text_classifier.encoding import encode_batch


class EncodingTest(unittest.TestCase):
    def test_utf8_bytes_plus_one_zero_padded_to_max_length(self) -> None:
        ids = encode_batch(["Aé", ""], max_length=6)
        self.assertEqual(ids.dtype, torch.int64)
        self.assertEqual(ids.tolist(), [[0x41 + 1, 0xC3 + 1, 0xA9 + 1, 0, 0, 0], [0] * 6])

    def test_truncates_to_max_length_bytes_even_inside_a_character(self) -> None:
        self.assertEqual(encode_batch(["abé"], max_length=3).tolist(), [[0x61 + 1, 0x62 + 1, 0xC3 + 1]])

    def test_examples_label_ai_text_1_and_humanized_text_0(self) -> None:
        texts, labels = texts_and_labels([{"aiText": "Moreover, it is.", "humanizedText": "yeah", "tags": []}])
        self.assertEqual((texts, labels), (["Moreover, it is.", "yeah"], [1.0, 0.0]))
        examples = encode_examples(texts, labels, max_length=8)
        ids, batch_labels = examples.batch(torch.tensor([1]))
        self.assertEqual(ids.tolist(), [[ord(c) + 1 for c in "yeah"]])  # cut to the batch's longest text
        self.assertEqual(batch_labels.tolist(), [0.0])
        self.assertEqual(examples.batch(torch.tensor([0, 1]))[0].shape, (2, 8))

    def test_holds_out_every_tenth_pair_without_a_validation_channel(self) -> None:
        pairs = [{"n": i} for i in range(20)]
        train, validation = split_channels(pairs, [])
        self.assertEqual([p["n"] for p in validation], [9, 19])
        self.assertEqual(len(train), 18)
        self.assertEqual(split_channels(pairs, pairs[:1]), (pairs, pairs[:1]))

    def test_epoch_order_depends_only_on_seed_and_epoch(self) -> None:
        torch.manual_seed(0)
        first = epoch_order(50, seed=3, epoch=2)
        torch.manual_seed(1)  # the global generator plays no part
        self.assertTrue(torch.equal(first, epoch_order(50, seed=3, epoch=2)))
        self.assertFalse(torch.equal(first, epoch_order(50, seed=3, epoch=3)))
        self.assertEqual(sorted(first.tolist()), list(range(50)))


if __name__ == "__main__":
    unittest.main()
