"""``python -m tests.fuzz ...``: run a fuzzing campaign (see run.py and docs/fuzzing.md)."""

import sys

from .run import main

sys.exit(main())
