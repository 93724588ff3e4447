"""Derivative rules, as templates in which `d[x]` stands for the derivative of `x`.

`registry` holds the machinery; `builtin` (operators, builtins, `math`), `numpy` and `scipy`
hold the table itself. Importing this package loads them, in that order, explicitly (`scipy`
registers its rules only when SciPy imports).
"""

from . import builtin, generated, numpy, scipy  # noqa: F401  (the table modules register rules)
from .registry import (  # noqa: F401
    NONDIFFERENTIABLE,
    Rule,
    is_nondifferentiable,
    lookup,
    lookup_method,
    register_user_adjoint,
    register_user_tangent,
    rule_listing,
)
