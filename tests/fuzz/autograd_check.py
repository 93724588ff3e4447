"""Optional cross-check with autograd (https://github.com/HIPS/autograd).

The program's text is executed again with ``np`` bound to ``autograd.numpy`` and ``math`` to
a small table of autograd functions, and differentiated with ``autograd.grad``.  Only programs
without in-place writes qualify (autograd does not support them).  When autograd is not
installed, ``available()`` is False and the check is skipped.
"""

from __future__ import annotations

import types
import warnings

import numpy as np

from .program import HEADER
from .values import deep_copy, flatten


def available():
    try:
        import autograd  # noqa: F401
    except ImportError:
        return False
    return True


def _math_table(anp):
    names = {"sin": anp.sin, "cos": anp.cos, "tanh": anp.tanh, "exp": anp.exp,
             "log": anp.log, "sqrt": anp.sqrt, "atan": anp.arctan, "atan2": anp.arctan2,
             "log1p": anp.log1p, "expm1": anp.expm1, "hypot": anp.hypot, "pow": anp.power,
             "fabs": anp.abs}
    return types.SimpleNamespace(**names)


def autograd_gradient(prog, args, indices):
    """autograd's gradient of the program w.r.t. the arguments ``indices``, flattened; None
    when autograd is not installed."""
    if not available():
        return None
    import autograd
    import autograd.numpy as anp
    namespace = {"np": anp, "math": _math_table(anp), "__name__": "sdfuzz_autograd"}
    text = prog.render().replace(HEADER, "", 1)
    exec(compile(text, f"<autograd {prog.label}>", "exec"), namespace)
    f = namespace["f"]
    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # "Output seems independent of input", ...
        for i in indices:
            parts.append(flatten(autograd.grad(f, i)(*deep_copy(list(args)))))
    return np.concatenate(parts) if parts else np.zeros(0)
