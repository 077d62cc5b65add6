"""The built-in pytorch-text-classifier trainer's entry point: Trainyard runs
`$TRAINYARD_PYTHON libs/trainers/python/train_text_classifier.py` in the job directory, with this
directory and the SDK's on PYTHONPATH (libs/training trainer-catalog.ts). A script rather than
`python -m`, which would put the job directory first on sys.path."""

import sys

from text_classifier.launch import main

sys.exit(main())
