"""Make the test helpers (corpus.py, fd.py) importable as top-level modules; shared fixtures."""

import os
import sys

import pytest

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)


@pytest.fixture(scope="module")
def sd():
    """The sourcediff package (imported inside the fixture, so an import error fails the tests
    that use it instead of hiding them)."""
    import sourcediff

    return sourcediff
