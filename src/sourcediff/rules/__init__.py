"""Derivative rules, as templates in which `d[x]` stands for the derivative of `x`.

`registry` holds the machinery; `builtin` (operators, builtins, `math`), `numpy`, `helpers`
(the runtime helpers' own rules, for higher-order derivatives; it imports `numpy` first) and
`scipy` hold the table itself. Importing this package loads them (`scipy` registers its rules
only when SciPy imports).
"""

from . import builtin, generated, helpers, numpy, scipy  # noqa: F401  (they register rules)
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
