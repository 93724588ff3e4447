"""Rules for NumPy functions and ndarray methods.

Elementwise functions give their partial derivatives; broadcasting is undone once, by
`_sd.unbroadcast`, where the generator cannot prove the shapes equal. Reductions, products and
shape operations give explicit adjoint and tangent templates.
"""

import numpy as np

from .registry import elementwise, method, nondifferentiable, rule

# ---- elementwise unary
elementwise(np.negative, "x", x="-1")
elementwise(np.positive, "x", x="1")
elementwise(np.sin, "x", x="np.cos(x)")
elementwise(np.cos, "x", x="-np.sin(x)")
elementwise(np.tan, "x", x="1.0 + y * y")
elementwise(np.arcsin, "x", x="1.0 / np.sqrt(1.0 - x * x)")
elementwise(np.arccos, "x", x="-1.0 / np.sqrt(1.0 - x * x)")
elementwise(np.arctan, "x", x="1.0 / (1.0 + x * x)")
elementwise(np.sinh, "x", x="np.cosh(x)")
elementwise(np.cosh, "x", x="np.sinh(x)")
elementwise(np.tanh, "x", x="1.0 - y * y")
elementwise(np.arcsinh, "x", x="1.0 / np.sqrt(x * x + 1.0)")
elementwise(np.arccosh, "x", x="1.0 / np.sqrt(x * x - 1.0)")
elementwise(np.arctanh, "x", x="1.0 / (1.0 - x * x)")
elementwise(np.exp, "x", x="y")
elementwise(np.exp2, "x", x="y * np.log(2.0)")
elementwise(np.expm1, "x", x="y + 1.0")
elementwise(np.log, "x", x="1.0 / x")
elementwise(np.log2, "x", x="1.0 / (x * np.log(2.0))")
elementwise(np.log10, "x", x="1.0 / (x * np.log(10.0))")
elementwise(np.log1p, "x", x="1.0 / (1.0 + x)")
elementwise(np.sqrt, "x", x="0.5 / y")
elementwise(np.cbrt, "x", x="1.0 / (3.0 * y * y)")
elementwise(np.square, "x", x="2.0 * x")
elementwise(np.reciprocal, "x", x="-y * y")
elementwise(np.abs, "x", x="np.sign(x)")
elementwise(np.fabs, "x", x="np.sign(x)")
elementwise(np.deg2rad, "x", x="np.pi / 180.0")
elementwise(np.rad2deg, "x", x="180.0 / np.pi")
elementwise(np.sinc, "x", x="_sd.sinc_derivative(x, y)")
elementwise(np.float64, "x", x="1")
elementwise(np.asarray, "x", x="1")
elementwise(np.array, "x", x="1")
elementwise(np.clip, "x, a_min, a_max", x="(x >= a_min) & (x <= a_max)")

# ---- elementwise binary
elementwise(np.add, "a, b", a="1", b="1")
elementwise(np.subtract, "a, b", a="1", b="-1")
elementwise(np.multiply, "a, b", a="b", b="a")
elementwise(np.divide, "a, b", a="1.0 / b", b="-y / b")
elementwise(np.true_divide, "a, b", a="1.0 / b", b="-y / b")
elementwise(np.power, "a, b", a="b * a ** (b - 1)", b="y * _sd.log_base(a)")
elementwise(np.maximum, "a, b", a="a >= b", b="a < b")
elementwise(np.minimum, "a, b", a="a <= b", b="a > b")
elementwise(np.fmax, "a, b", a="a >= b", b="a < b")
elementwise(np.fmin, "a, b", a="a <= b", b="a > b")
elementwise(np.arctan2, "a, b", a="b / (a * a + b * b)", b="-a / (a * a + b * b)")
elementwise(np.hypot, "a, b", a="a / y", b="b / y")
elementwise(np.logaddexp, "a, b", a="np.exp(a - y)", b="np.exp(b - y)")
rule(np.where, "condition, a, b", elementwise=True,
     adjoint={"a": "np.where(condition, d[y], 0.0)", "b": "np.where(condition, 0.0, d[y])"},
     tangent={"a": "np.where(condition, d[a], 0.0)", "b": "np.where(condition, 0.0, d[b])"})

# ---- reductions
rule(np.sum, "x, axis=None, keepdims=False",
     adjoint={"x": "_sd.sum_adjoint(d[y], x, axis, keepdims)"},
     tangent={"x": "np.sum(d[x], axis=axis, keepdims=keepdims)"})
rule(np.mean, "x, axis=None, keepdims=False",
     adjoint={"x": "_sd.sum_adjoint(d[y], x, axis, keepdims) / _sd.count(x, axis)"},
     tangent={"x": "np.mean(d[x], axis=axis, keepdims=keepdims)"})

# ---- products
rule(np.dot, "a, b",
     adjoint={"a": "_sd.dot_adjoint_a(d[y], a, b)", "b": "_sd.dot_adjoint_b(d[y], a, b)"},
     tangent={"a": "np.dot(d[a], b)", "b": "np.dot(a, d[b])"})
rule(np.matmul, "a, b",
     adjoint={"a": "_sd.matmul_adjoint_a(d[y], a, b)", "b": "_sd.matmul_adjoint_b(d[y], a, b)"},
     tangent={"a": "np.matmul(d[a], b)", "b": "np.matmul(a, d[b])"})
rule(np.transpose, "x, axes=None",
     adjoint={"x": "_sd.transpose_adjoint(d[y], axes)"},
     tangent={"x": "np.transpose(d[x], axes)"})

# ---- ndarray methods and attributes
method("sum", np.sum)
method("mean", np.mean)
method("dot", np.dot)
method("T", np.transpose, attribute=True)

nondifferentiable(
    np.sign, np.floor, np.ceil, np.round, np.rint, np.trunc, np.argmax, np.argmin,
    np.argsort, np.shape, np.ndim, np.size, np.isnan, np.isinf, np.isfinite,
    np.zeros, np.ones, np.empty, np.arange, np.eye, np.identity, np.zeros_like, np.ones_like,
    np.empty_like, np.greater, np.greater_equal, np.less, np.less_equal, np.equal,
    np.not_equal, np.logical_and, np.logical_or, np.logical_not, np.allclose, np.isclose,
    np.any, np.all, np.count_nonzero, np.floor_divide,
)
