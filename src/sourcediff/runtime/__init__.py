"""The runtime: the only module generated derivative code imports (as `_sd`).

`core` holds what every generated function may need (broadcasting, containers, the tape,
in-place writes, outputs); the helper modules hold what the rule tables' templates call. Each
depends only on numpy, math and the core. `MODULES` lists them in order, for `export`, which
copies the helpers an exported derivative calls.
"""

from . import core, numpy_helpers
from .core import *  # noqa: F403
from .core import _is_zero, _tracking  # noqa: F401  (read by the API and by tests)
from .numpy_helpers import *  # noqa: F403

MODULES = (core, numpy_helpers)
