"""sourcediff: source-to-source automatic differentiation for Python and NumPy."""

from . import parallel  # noqa: F401  (sourcediff.parallel; it imports no Dask)
from . import rules as _rules  # noqa: F401  (loads the derivative rule table)
from .api import (
    adjoint,
    grad,
    jvp,
    nondifferentiable,
    source,
    tangent,
    value_and_grad,
    vjp,
)
from .checking import check_grads
from .errors import (
    DomainError,
    MissingRuleError,
    NonScalarOutputError,
    NoSourceError,
    SourceDiffError,
    UnsupportedSyntaxError,
    WrtError,
)
from .jacobians import hessian, hvp, jacfwd, jacobian, jacrev
from .passes.checkpoint import checkpoint
from .runtime import stop_gradient

__version__ = "0.1.0"

__all__ = [
    "DomainError", "MissingRuleError", "NoSourceError", "NonScalarOutputError", "SourceDiffError",
    "adjoint", "check_grads", "checkpoint", "nondifferentiable", "tangent",
    "UnsupportedSyntaxError", "WrtError", "grad", "hessian", "hvp", "jacfwd", "jacobian", "jacrev",
    "jvp", "source",
    "stop_gradient", "value_and_grad", "vjp",
]
