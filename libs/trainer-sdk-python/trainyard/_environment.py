"""What a trainer runs on, reported once per run so Trainyard records it in the job's trainer identity."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Dict, Iterable

# Distributions whose versions decide a model's bytes; each reported only when installed.
# Looked up in the installed metadata: nothing is imported.
KNOWN_PACKAGES = ("torch", "numpy", "onnx", "onnxruntime", "scipy", "scikit-learn", "pandas", "transformers", "tokenizers", "tensorflow", "jax", "jaxlib")


def package_versions(names: Iterable[str] = KNOWN_PACKAGES) -> Dict[str, str]:
    """{"python": "3.11.7", "torch": "1.13.1", ...}: the interpreter's version and each installed package's."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
