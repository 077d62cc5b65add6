"""pytorch-text-classifier: a byte-level CNN that tells machine-written text (aiText, label 1)
from its humanized rewrite (humanizedText, label 0), exported to ONNX for models.score."""
