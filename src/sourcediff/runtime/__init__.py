"""The runtime: the only module generated derivative code imports (as `_sd`).

`core` holds what every generated function may need (broadcasting, containers, the tape,
outputs), `inplace` the in-place semantics (writes, alias updates, lists); the helper modules
hold what the rule tables' templates call. Each depends only on numpy, math and the core
(`scipy_helpers` on SciPy too). `MODULES` lists them
in order, for `export`, which copies the helpers an exported derivative calls.

`scipy_helpers` is imported by `load_scipy()`, which the SciPy rule table calls when it
registers (the first time a function is looked up after SciPy was imported): importing
sourcediff never imports SciPy, and works without it.
"""

import importlib

from . import (
    calls,
    checkpoint,
    core,
    inplace,
    numpy_decompositions,
    numpy_helpers,
    numpy_linalg,
    numpy_selection,
    numpy_shapes,
)
from .batch import *  # noqa: F403
from .calls import *  # noqa: F403
from .checkpoint import *  # noqa: F403
from .core import *  # noqa: F403
from .core import _is_zero, _tracking  # noqa: F401  (read by the API and by tests)
from .inplace import *  # noqa: F403
from .numpy_decompositions import *  # noqa: F403
from .numpy_helpers import *  # noqa: F403
from .numpy_linalg import *  # noqa: F403
from .numpy_selection import *  # noqa: F403
from .numpy_shapes import *  # noqa: F403

# `calls` (derivatives of callees known only at run time) needs sourcediff itself: export
# refuses code that calls it
MODULES = (core, inplace, numpy_helpers, numpy_shapes, numpy_selection, numpy_linalg,
           numpy_decompositions, calls)
MODULES = (*MODULES, checkpoint)   # checkpointed loops' schedules
scipy_helpers = None


def load_scipy():
    """Import `scipy_helpers` (when SciPy is installed) and add it to `MODULES` and to this
    namespace; returns whether it is loaded."""
    global MODULES, scipy_helpers
    if scipy_helpers is None:
        try:
            import scipy  # noqa: F401
        except ImportError:
            return False
        module = importlib.import_module(f"{__name__}.scipy_helpers")
        globals().update({name: getattr(module, name) for name in module.__all__})
        scipy_helpers = module
        MODULES = (*MODULES, module)
    return True
