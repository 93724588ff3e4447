"""Every derivative rule in the table, in both modes, against central finite differences.

`SPECS` is the table of checks: an expression over the arguments `a, b, c, ...` (one or more
uses of a rule, with argument shapes that exercise broadcasting, axes and keywords), and for
each argument a shape and a domain (positive for log, SPD for cholesky, ...). Each spec becomes
a function `np.sum(W * (expr))` with `W` a fixed random weight of the output's shape (so errors
in different elements cannot cancel), written to a real .py file so the compiler can read its
source. `sourcediff.grad` of it with respect to every argument, in reverse and in forward
mode, must match central finite differences.

The same table drives the other checks: the rule's result used only in a branch not taken
(its adjoint is the zero 0.0), second derivatives (forward over reverse, against differences of
the gradient; `second=False` specs must be refused), float32 staying float32, and the rules of
the runtime helpers being transposes of each other. `test_every_rule_has_a_spec` classifies
each generated function the way the compiler does and checks that every rule in `RULES` and
`METHODS` is applied by some spec. Conventions at ties and kinks are checked against values
derived by hand, and a deliberately wrong rule must fail the check.
"""

import importlib.util
import math
import re
import sys
from dataclasses import dataclass, field

import numpy as np
import pytest
import rule_wrappers as rw
from fd import assert_close, central_fd

import sourcediff
from sourcediff import SourceDiffError, runtime
from sourcediff.passes.activity import Classifier, assignments, local_names
from sourcediff.pipeline import prepare
from sourcediff.rules import helpers as helper_rules
from sourcediff.rules import registry

MODES = ("reverse", "forward")
# np.cross of 2-vectors was removed in NumPy 2.5, so only 3-vectors are tested


# ---- argument descriptors -----------------------------------------------------------------------
@dataclass(frozen=True)
class Arg:
    shape: tuple | None      # None: a Python float
    dom: str = "n"


def A(*shape, dom="n"):
    return Arg(tuple(shape), dom)


def S(dom="n"):
    return Arg(None, dom)


def _sample(arg, rng):
    shape = () if arg.shape is None else arg.shape
    dom = arg.dom
    if dom == "n":
        x = rng.standard_normal(shape)
    elif dom == "pos":
        x = rng.uniform(0.5, 2.0, shape)
    elif dom == "unit":
        x = rng.uniform(-0.8, 0.8, shape)
    elif dom == "gt1":
        x = rng.uniform(1.2, 3.0, shape)
    elif dom == "away":        # |x| >= 0.5: away from the kinks of abs, sign, 1/x
        x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif dom == "distinct":    # well separated values: max, sort, median are smooth here
        n = int(np.prod(shape))
        x = (rng.permutation(n) * 0.37 - 0.2 * n + rng.uniform(-0.05, 0.05, n)).reshape(shape)
    elif dom == "zero":        # normal with one exact zero
        x = rng.standard_normal(shape)
        x.reshape(-1)[1] = 0.0
    elif dom == "zeros":       # normal with two exact zeros
        x = rng.standard_normal(shape)
        x.reshape(-1)[1] = x.reshape(-1)[-1] = 0.0
    elif dom == "mat":         # well-conditioned square matrices (stacks allowed)
        n = shape[-1]
        x = np.eye(n) * 2.0 + 0.3 * rng.standard_normal(shape)
    elif dom == "spd":
        n = shape[-1]
        m = rng.standard_normal(shape)
        x = m @ np.swapaxes(m, -1, -2) + n * np.eye(n)
    elif dom == "sym":         # symmetric, eigenvalues well apart (stacks allowed)
        n = shape[-1]
        q = np.linalg.qr(rng.standard_normal(shape))[0]
        w = np.arange(1.0, n + 1.0) * 1.5 + rng.uniform(-0.2, 0.2, shape[:-2] + (n,))
        x = (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
    elif dom == "prob":        # inside (0, 1)
        x = rng.uniform(0.1, 0.9, shape)
    elif dom == "subsimplex":  # positive, each column summing to less than 1 (dirichlet's x)
        k = shape[0]
        x = rng.dirichlet(np.ones(k + 1), shape[1:]).T[:k] if shape[1:] else \
            rng.dirichlet(np.ones(k + 1))[:k]
        x = x.reshape(shape)
    else:
        raise ValueError(dom)
    return float(x) if arg.shape is None else np.asarray(x, dtype=np.float64)


# ---- the table ----------------------------------------------------------------------------------
@dataclass
class Spec:
    expr: str
    args: tuple
    pre: tuple = ()            # statements before the return (may assign names the expr uses)
    rtol: float = 1e-5
    atol: float = 1e-6
    step: float = 1e-6         # finite-difference step (relative)
    f32: bool = True           # check that float32 inputs keep float32 derivatives
    second: bool = True        # second derivatives (forward over reverse) have rules
    name: str = field(default="")

    def __post_init__(self):
        self.name = self.name or self.expr


def spec(expr, *args, **kw):
    return Spec(expr, args, **kw)


M34 = A(3, 4)
UNARY = [
    ("np.negative", "n"), ("np.positive", "n"), ("np.sin", "n"), ("np.cos", "n"),
    ("np.tan", "unit"), ("np.arcsin", "unit"), ("np.arccos", "unit"), ("np.arctan", "n"),
    ("np.sinh", "n"), ("np.cosh", "n"), ("np.tanh", "n"), ("np.arcsinh", "n"),
    ("np.arccosh", "gt1"), ("np.arctanh", "unit"), ("np.exp", "n"), ("np.exp2", "n"),
    ("np.expm1", "n"), ("np.log", "pos"), ("np.log2", "pos"), ("np.log10", "pos"),
    ("np.log1p", "pos"), ("np.sqrt", "pos"), ("np.cbrt", "away"), ("np.square", "n"),
    ("np.reciprocal", "away"), ("np.abs", "away"), ("np.absolute", "away"), ("np.fabs", "away"),
    ("np.deg2rad", "n"), ("np.radians", "n"), ("np.rad2deg", "n"), ("np.degrees", "n"),
    ("np.sinc", "n"), ("np.float64", "n"), ("np.conjugate", "n"), ("np.conj", "n"),
    ("np.real", "n"), ("np.nan_to_num", "n"), ("np.copy", "n"), ("np.ascontiguousarray", "n"),
    ("np.asfortranarray", "n"), ("np.array", "n"), ("np.asarray", "n"), ("np.asanyarray", "n"),
]
BINARY = [
    ("np.add", "n", "n"), ("np.subtract", "n", "n"), ("np.multiply", "n", "n"),
    ("np.divide", "n", "away"), ("np.true_divide", "n", "away"), ("np.power", "pos", "n"),
    ("np.float_power", "pos", "n"), ("np.maximum", "distinct", "distinct"),
    ("np.minimum", "distinct", "distinct"), ("np.fmax", "distinct", "distinct"),
    ("np.fmin", "distinct", "distinct"), ("np.arctan2", "away", "away"),
    ("np.hypot", "away", "away"), ("np.logaddexp", "n", "n"), ("np.logaddexp2", "n", "n"),
    ("np.remainder", "pos", "pos"), ("np.mod", "pos", "pos"), ("np.fmod", "away", "away"),
    ("np.copysign", "away", "away"),
]
MATH = [
    ("math.sin", "n"), ("math.cos", "n"), ("math.tan", "unit"), ("math.asin", "unit"),
    ("math.acos", "unit"), ("math.atan", "n"), ("math.sinh", "n"), ("math.cosh", "n"),
    ("math.tanh", "n"), ("math.asinh", "n"), ("math.acosh", "gt1"), ("math.atanh", "unit"),
    ("math.exp", "n"), ("math.expm1", "n"), ("math.log", "pos"), ("math.log2", "pos"),
    ("math.log10", "pos"), ("math.log1p", "pos"), ("math.sqrt", "pos"), ("math.fabs", "away"),
    ("math.erf", "n"), ("math.erfc", "n"), ("abs", "away"), ("float", "n"),
]

SPECS = (
    [spec(f"{f}(a)", A(3, 4, dom=d)) for f, d in UNARY]
    + [spec(f"{f}(a)", S(d), name=f"{f}(a) scalar") for f, d in UNARY[:30]]
    + [spec(f"{f}(a, b)", A(3, 4, dom=da), A(3, 4, dom=db)) for f, da, db in BINARY]
    + [spec(f"{f}(a, b)", A(3, 1, dom=da), A(1, 4, dom=db), name=f"{f}(a, b) broadcast")
       for f, da, db in BINARY]
    # (for a Python-float base, log(a) in d/db a**b is a float64 NumPy scalar: not float32)
    + [spec(f"{f}(a, b)", S(da), A(2, 3, dom=db), name=f"{f}(a, b) scalar-array",
            f32=f not in ("np.power", "np.float_power")) for f, da, db in BINARY]
    + [spec(f"{f}(a)", S(d)) for f, d in MATH]
    + [
        # ---- elementwise odds and ends
        spec("np.float32(a)", A(3, 4), step=1e-2, rtol=1e-4, atol=1e-5, f32=False),
        spec("np.nan_to_num(np.log(a))", A(3, 4, dom="pos")),
        spec("np.clip(a, -0.5, 0.7)", A(3, 4, dom="distinct")),
        spec("np.clip(a, b, c)", A(3, 4, dom="n"), A(3, 1, dom="n"), S("gt1")),
        spec("np.clip(a, None, b)", A(3, 4), A(1, 4)),
        spec("np.clip(a, min=b)", A(3, 4), S()),
        spec("np.clip(a, a_max=c, a_min=b)", A(2, 5), S("unit"), S("gt1")),
        spec("np.where(a > 0, a * b, np.sin(b))", A(3, 4), A(1, 4)),
        spec("np.where(a > 0.2, a, c)", A(3, 4), S(), S()),
        spec("np.select([a < -0.3, a > 0.3], [a * a, b], c)", A(3, 4), A(3, 4), S()),
        spec("np.select([a > 0], [b], 1.0)", A(3, 4), A(1, 4)),
        spec("np.array([a, b, a * b])", S(), S()),
        spec("np.array([[a, b], [b, a]])", S(), S()),
        spec("np.array([a, b])", A(3), A(3)),
        spec("np.asarray((a, b), dtype=float)", S(), S()),
        spec("np.array(a, dtype=np.float64)", A(2, 3)),
        # ---- Python operators, builtins, math
        spec("a + b", A(3, 1), A(4)),
        spec("a - b", S(), A(4)),
        spec("a * b", A(2, 3), S()),
        spec("a / b", A(2, 3), A(3, dom="away")),
        spec("a ** b", A(2, 3, dom="pos"), S()),
        spec("a ** 3", A(2, 3)),
        spec("a % b", A(2, 3, dom="pos"), S("pos")),
        spec("-a", A(2, 3)),
        spec("operator.pos(a)", A(2, 3)),
        spec("operator.neg(a)", S()),
        spec("a @ b", A(3, 4), A(4, 2)),
        spec("a @ b", A(2, 3, 4), A(4)),
        spec("pow(a, b)", S("pos"), S()),
        spec("max(a, b) + min(a, b) * 2.0", S(), S()),
        spec("sum([a, b, a * b])", A(3), A(3)),
        spec("sum(a, b)", A(3, 2), A(2)),
        spec("np.stack(lst)", A(3), A(3), pre=("lst = [a]", "lst.append(b * a)")),
        spec("math.pow(a, b)", S("pos"), S()),
        spec("math.atan2(a, b)", S("away"), S("away")),
        spec("math.hypot(a, b)", S("away"), S("away")),
        # ---- reductions
        spec("np.sum(a)", A(3, 4)),
        spec("np.sum(a, axis=(0, 2))", A(2, 3, 4)),
        spec("np.sum(a, -1, keepdims=True)", A(2, 3, 4)),
        spec("np.mean(a, axis=1)", A(2, 3, 4)),
        spec("np.mean(a, (0, 1), keepdims=True)", A(2, 3, 4)),
        spec("np.nansum(np.where(a > 1.0, np.nan, a), axis=0)", A(4, 3)),
        spec("np.nansum(a * b)", A(4, 3), S()),
        spec("np.nanmean(np.where(a > 1.0, np.nan, a), axis=1, keepdims=True)", A(4, 3)),
        spec("np.nanmean(a)", A(4, 3)),
        spec("np.prod(a)", A(2, 3)),
        spec("np.prod(a, axis=1)", A(3, 4, dom="zero")),
        spec("np.prod(a, axis=(0, 2), keepdims=True)", A(2, 3, 2, dom="zeros")),
        spec("np.nanprod(np.where(a > 1.0, np.nan, a), axis=0)", A(4, 3), second=False),
        spec("np.max(a)", A(3, 4, dom="distinct")),
        spec("np.max(a, axis=0)", A(3, 4, dom="distinct")),
        spec("np.min(a, axis=(0, 2), keepdims=True)", A(2, 3, 2, dom="distinct")),
        spec("np.amax(a, 1)", A(3, 4, dom="distinct")),
        spec("np.amin(a, axis=-1, keepdims=True)", A(3, 4, dom="distinct")),
        spec("np.nanmax(np.where(a > 1.5, np.nan, a), axis=0)", A(3, 4, dom="distinct")),
        spec("np.nanmin(a)", A(3, 4, dom="distinct")),
        spec("np.ptp(a, axis=1)", A(3, 4, dom="distinct")),
        spec("np.ptp(a)", A(3, 4, dom="distinct")),
        spec("np.std(a)", A(3, 4)),
        spec("np.std(a, axis=0, ddof=1)", A(3, 4)),
        spec("np.std(a, 1, None, None, 1, True)", A(3, 4)),
        spec("np.var(a, axis=(0, 1))", A(2, 3, 4)),
        spec("np.var(a, axis=1, ddof=1, keepdims=True)", A(3, 4)),
        spec("np.var(a, correction=1)", A(3, 4)),
        spec("np.median(a)", A(3, 5, dom="distinct")),
        spec("np.median(a, axis=1)", A(3, 4, dom="distinct")),
        spec("np.median(a, axis=0, keepdims=True)", A(3, 4, dom="distinct")),
        spec("np.average(a)", A(3, 4)),
        spec("np.average(a, axis=0, weights=b)", A(3, 4), A(3, 4, dom="pos"), second=False),
        spec("np.average(a, axis=1, weights=b)", A(3, 4), A(4, dom="pos"), second=False),
        spec("np.average(a, 0, b, keepdims=True)", A(3, 4), A(3, dom="pos"), second=False),
        spec("np.cumsum(a)", A(3, 4)),
        spec("np.cumsum(a, axis=0)", A(3, 4)),
        spec("np.cumprod(a, axis=1)", A(3, 4)),
        spec("np.cumprod(a, axis=1)", A(3, 4, dom="zero"), name="np.cumprod zero"),
        spec("np.cumprod(a)", A(2, 3, dom="zeros"), name="np.cumprod two zeros"),
        spec("np.cumulative_sum(a, axis=1)", A(3, 4)),
        spec("np.cumulative_sum(a, axis=0, include_initial=True)", A(3, 4)),
        spec("np.diff(a)", A(3, 4)),
        spec("np.diff(a, n=2, axis=0)", A(4, 3)),
        spec("np.trapezoid(a)", A(3, 5), second=False),
        spec("np.trapezoid(a, dx=b, axis=0)", A(3, 5), S("pos"), second=False),
        spec("np.trapezoid(a, x=b)", A(3, 5), A(5), second=False),
        spec("np.trapezoid(a, b, axis=0)", A(4, 2), A(4, 2), second=False),
        spec("np.max(a, axis=1, keepdims=True) + np.log(np.sum(np.exp(a - np.max(a, axis=1, "
             "keepdims=True)), axis=1, keepdims=True))", A(3, 4), name="logsumexp"),
        # ---- shapes
        spec("np.reshape(a, (4, 3))", A(3, 4)),
        spec("np.reshape(a, (2, -1), order='F')", A(3, 4)),
        spec("np.reshape(a, shape=(12,))", A(3, 4)),
        spec("np.ravel(a)", A(3, 4)),
        spec("np.ravel(a, order='F')", A(3, 4)),
        spec("np.ravel(np.transpose(a), order='K')", A(3, 4)),
        spec("np.transpose(a)", A(2, 3, 4)),
        spec("np.transpose(a, (1, -1, 0))", A(2, 3, 4)),
        spec("np.permute_dims(a, (2, 0, 1))", A(2, 3, 4)),
        spec("np.matrix_transpose(a)", A(2, 3, 4)),
        spec("np.linalg.matrix_transpose(a)", A(3, 4)),
        spec("np.swapaxes(a, 0, -1)", A(2, 3, 4)),
        spec("np.moveaxis(a, 0, -1)", A(2, 3, 4)),
        spec("np.moveaxis(a, (0, 1), (2, 0))", A(2, 3, 4)),
        spec("np.rollaxis(a, 2)", A(2, 3, 4)),
        spec("np.rollaxis(a, 0, 3)", A(2, 3, 4)),
        spec("np.squeeze(a)", A(3, 1, 4)),
        spec("np.squeeze(a, axis=1)", A(3, 1, 4)),
        spec("np.expand_dims(a, 1)", A(3, 4)),
        spec("np.expand_dims(a, (0, 2))", A(3, 4)),
        spec("np.atleast_1d(a)", S()),
        spec("np.atleast_2d(a)", A(3)),
        spec("np.atleast_3d(a)", A(3, 4)),
        spec("np.broadcast_to(a, (2, 3, 4))", A(3, 1)),
        spec("np.broadcast_to(a, (2, 3))", S()),
        spec("np.concatenate([a, b])", A(2, 3), A(1, 3)),
        spec("np.concatenate((a, b, a), axis=1)", A(2, 3), A(2, 1)),
        spec("np.concatenate([a, b], axis=None)", A(2, 3), A(4)),
        spec("np.concatenate([a, np.ones((1, 3))])", A(2, 3)),
        spec("np.concat([a, b], axis=-1)", A(2, 3), A(2, 2)),
        spec("np.stack([a, b])", A(2, 3), A(2, 3)),
        spec("np.stack((a, b, a * b), axis=-1)", A(3), A(3)),
        spec("np.stack([a, b])", S(), S(), name="np.stack scalars"),
        spec("np.hstack([a, b])", A(2), A(3)),
        spec("np.hstack((a, b))", A(2, 3), A(2, 1)),
        spec("np.vstack([a, b])", A(3), A(2, 3)),
        spec("np.dstack([a, b])", A(2, 3), A(2, 3)),
        spec("np.column_stack([a, b])", A(3), A(3, 2)),
        spec("np.split(a, 3)[1]", A(6, 2)),
        spec("p * r", A(6, 2), pre=("p, q, r = np.split(a, [1, 3], axis=0)",)),
        spec("np.array_split(a, 3, axis=1)[2]", A(2, 7)),
        spec("np.hsplit(a, 2)[0] - np.hsplit(a, 2)[1]", A(3, 4)),
        spec("np.vsplit(a, [1])[1]", A(3, 4)),
        spec("np.dsplit(a, 2)[1]", A(2, 3, 4)),
        spec("np.flip(a)", A(3, 4)),
        spec("np.flip(a, axis=1)", A(3, 4)),
        spec("np.fliplr(a)", A(3, 4)),
        spec("np.flipud(a)", A(3, 4)),
        spec("np.rot90(a)", A(3, 4)),
        spec("np.rot90(a, 3, (1, 2))", A(2, 3, 4)),
        spec("np.roll(a, 2)", A(3, 4)),
        spec("np.roll(a, (1, -1), axis=(0, 1))", A(3, 4)),
        spec("np.tile(a, 2)", A(3)),
        spec("np.tile(a, (2, 1, 3))", A(3, 2)),
        spec("np.repeat(a, 2)", A(2, 3)),
        spec("np.repeat(a, [1, 0, 2], axis=1)", A(2, 3)),
        spec("np.pad(a, 1)", A(3, 4)),
        spec("np.pad(a, ((1, 0), (2, 1)), mode='edge')", A(3, 4)),
        spec("np.pad(a, 2, 'reflect')", A(3, 4)),
        spec("np.pad(a, (1, 2), mode='symmetric')", A(3, 4)),
        spec("np.pad(a, 1, mode='wrap')", A(3, 4)),
        spec("np.pad(a, 1, constant_values=2.0)", A(3)),
        # ---- selection
        spec("np.take(a, [2, 0, 2])", A(3, 4)),
        spec("np.take(a, [[1, 3], [3, 0]], axis=1)", A(3, 4)),
        spec("np.take(a, [5, -1], axis=0, mode='wrap')", A(3, 4)),
        spec("np.take_along_axis(a, np.argsort(a, axis=1), axis=1)", A(3, 4)),
        spec("np.take_along_axis(a, np.array([[0], [2], [2]]), 1)", A(3, 4)),
        spec("np.sort(a)", A(3, 4, dom="distinct")),
        spec("np.sort(a, axis=0)", A(3, 4, dom="distinct")),
        spec("np.sort(a, axis=None)", A(3, 4, dom="distinct")),
        # ---- constructors
        spec("np.full_like(a, b)", A(2, 3), S()),
        spec("np.full_like(a, b)", A(2, 3), A(3), name="np.full_like array fill"),
        spec("np.full((2, 3), a)", S()),
        spec("np.full((2, 3), a)", A(3), name="np.full array fill"),
        spec("np.linspace(a, b, 5)", S(), S()),
        spec("np.linspace(a, b, 4, endpoint=False)", S(), S()),
        spec("np.linspace(a, b, 3, axis=1)", A(2), A(2)),
        spec("np.linspace(a, 2.0, 4)", A(2)),
        spec("np.zeros_like(a) + np.ones_like(a) * np.sum(a)", A(2, 3)),
        # ---- products
        spec("np.dot(a, b)", A(4), A(4)),
        spec("np.dot(a, b)", A(3, 4), A(4)),
        spec("np.dot(a, b)", A(4), A(4, 2)),
        spec("np.dot(a, b)", A(3, 4), A(4, 2)),
        spec("np.dot(a, b)", A(2, 3, 4), A(5, 4, 2)),
        spec("np.dot(a, b)", S(), A(2, 2)),
        spec("np.matmul(a, b)", A(2, 1, 3, 4), A(5, 4, 2)),
        spec("np.matmul(a, b)", A(4), A(2, 4, 3)),
        spec("np.linalg.matmul(a, b)", A(3, 4), A(4, 2)),
        spec("np.vdot(a, b)", A(3, 4), A(3, 4)),
        spec("np.vdot(a, b)", A(2, 3), A(6)),
        spec("np.inner(a, b)", A(4), A(4)),
        spec("np.inner(a, b)", A(2, 3, 4), A(5, 4)),
        spec("np.inner(a, b)", S(), A(3)),
        spec("np.outer(a, b)", A(3), A(4)),
        spec("np.outer(a, b)", A(2, 2), A(3)),
        spec("np.linalg.outer(a, b)", A(3), A(2)),
        spec("np.vecdot(a, b)", A(3, 4), A(4)),
        spec("np.linalg.vecdot(a, b, axis=0)", A(3, 4), A(3, 1)),
        spec("np.tensordot(a, b)", A(2, 3, 4), A(3, 4, 5)),
        spec("np.tensordot(a, b, axes=1)", A(2, 3), A(3, 4)),
        spec("np.tensordot(a, b, axes=([1, 0], [0, 2]))", A(2, 3, 4), A(3, 5, 2)),
        spec("np.tensordot(a, b, 0)", A(2), A(3)),
        spec("np.linalg.tensordot(a, b, axes=1)", A(2, 3), A(3, 2)),
        spec("np.kron(a, b)", A(2, 3), A(3, 2)),
        spec("np.kron(a, b)", A(3), A(2, 2)),
        spec("np.cross(a, b)", A(3), A(3)),
        spec("np.cross(a, b)", A(4, 3), A(3)),
        spec("np.convolve(a, b)", A(5), A(3)),
        spec("np.convolve(a, b, 'same')", A(5), A(3)),
        spec("np.convolve(a, b, mode='valid')", A(5), A(3)),
        spec("np.convolve(a, b, mode='same')", A(2), A(5)),
        spec("np.correlate(a, b)", A(5), A(3)),
        spec("np.correlate(a, b, 'full')", A(5), A(3)),
        spec("np.correlate(a, b, 'same')", A(5), A(2)),
        spec("np.correlate(a, b, 'same')", A(2), A(5)),
        spec("np.correlate(a, b, 'valid')", A(3), A(5)),
        spec("np.einsum('ij,jk->ik', a, b)", A(3, 4), A(4, 2)),
        spec("np.einsum('ij,jk', a, b)", A(3, 4), A(4, 2)),
        spec("np.einsum('ii', a)", A(3, 3)),
        spec("np.einsum('ii->i', a)", A(3, 3)),
        spec("np.einsum('iji->j', a)", A(3, 2, 3)),
        spec("np.einsum('i,j->ij', a, b)", A(3), A(2)),
        spec("np.einsum('ijk->k', a)", A(2, 3, 4)),
        spec("np.einsum('ij,j->', a, b)", A(3, 4), A(4)),
        spec("np.einsum('ij->', a) * np.einsum('k->k', b)", A(3, 4), A(2)),
        spec("np.einsum('...ij,...jk->...ik', a, b)", A(2, 1, 3, 4), A(5, 4, 2)),
        spec("np.einsum('...i,...i', a, b)", A(3, 4), A(4)),
        spec("np.einsum('ij,ij->ij', a, b)", A(3, 1), A(3, 4)),
        spec("np.einsum('ij,jk,kl->il', a, b, c, optimize=True)", A(2, 3), A(3, 4), A(4, 2)),
        spec("np.einsum('i,i,i,i', a, b, c, u)", A(3), A(3), A(3), A(3)),
        spec("np.trace(a)", A(3, 3)),
        spec("np.trace(a, 1)", A(3, 4)),
        spec("np.trace(a, -1, axis1=1, axis2=2)", A(2, 3, 4)),
        spec("np.linalg.trace(a)", A(2, 3, 3)),
        spec("np.linalg.trace(a, offset=1)", A(3, 4)),
        spec("np.diagonal(a)", A(3, 4)),
        spec("np.diagonal(a, -1, 0, 2)", A(3, 2, 4)),
        spec("np.linalg.diagonal(a, offset=1)", A(2, 3, 4)),
        spec("np.diag(a)", A(3)),
        spec("np.diag(a, k=-1)", A(3)),
        spec("np.diag(a)", A(3, 4), name="np.diag of a matrix"),
        spec("np.diag(a, 1)", A(3, 4), name="np.diag of a matrix, k=1"),
        spec("np.tril(a)", A(3, 4)),
        spec("np.tril(a, -1)", A(2, 3, 3)),
        spec("np.triu(a, 1)", A(3, 4)),
        # ---- linear algebra
        spec("np.linalg.norm(a)", A(3, 4)),
        spec("np.linalg.norm(a)", A(2, 3, 4), name="np.linalg.norm 3-d"),
        spec("np.linalg.norm(a, 2)", A(4)),
        spec("np.linalg.norm(a, 1)", A(4, dom="away")),
        spec("np.linalg.norm(a, np.inf)", A(4, dom="distinct")),
        spec("np.linalg.norm(a, -np.inf)", A(4, dom="distinct")),
        spec("np.linalg.norm(a, 3)", A(4, dom="away")),
        spec("np.linalg.norm(a, 0.5)", A(4, dom="away")),
        spec("np.linalg.norm(a, axis=1)", A(3, 4)),
        spec("np.linalg.norm(a, 1, axis=0, keepdims=True)", A(3, 4, dom="away")),
        spec("np.linalg.norm(a, 'fro')", A(3, 4)),
        spec("np.linalg.norm(a, 'nuc')", A(3, 4), second=False),
        spec("np.linalg.norm(a, 2)", A(3, 4), name="np.linalg.norm(a, 2) matrix", second=False),
        spec("np.linalg.norm(a, -2)", A(3, 4), name="np.linalg.norm(a, -2) matrix", second=False),
        spec("np.linalg.norm(a, 1)", A(3, 4, dom="away"), name="np.linalg.norm(a, 1) matrix"),
        spec("np.linalg.norm(a, -1)", A(3, 4, dom="away"), name="np.linalg.norm(a, -1) matrix"),
        spec("np.linalg.norm(a, np.inf)", A(3, 4, dom="away"),
             name="np.linalg.norm(a, inf) matrix"),
        spec("np.linalg.norm(a, -np.inf)", A(3, 4, dom="away"),
             name="np.linalg.norm(a, -inf) matrix"),
        spec("np.linalg.norm(a, 'fro', axis=(0, 2), keepdims=True)", A(2, 3, 4)),
        spec("np.linalg.norm(a, 2, axis=(2, 1))", A(2, 3, 4), second=False),
        spec("np.linalg.vector_norm(a)", A(3, 4)),
        spec("np.linalg.vector_norm(a, axis=(0, 2), ord=3)", A(2, 3, 4, dom="away")),
        spec("np.linalg.vector_norm(a, axis=1, keepdims=True, ord=np.inf)",
             A(3, 4, dom="distinct")),
        spec("np.linalg.matrix_norm(a)", A(2, 3, 4)),
        spec("np.linalg.matrix_norm(a, ord='nuc')", A(3, 4), second=False),
        spec("np.linalg.matrix_norm(a, keepdims=True, ord=1)", A(2, 3, 4, dom="away")),
        spec("np.linalg.inv(a)", A(3, 3, dom="mat")),
        spec("np.linalg.inv(a)", A(2, 3, 3, dom="mat"), name="np.linalg.inv stack"),
        spec("np.linalg.det(a)", A(3, 3, dom="mat")),
        spec("np.linalg.det(a)", A(2, 3, 3, dom="mat"), name="np.linalg.det stack"),
        spec("s * l", A(3, 3, dom="mat"), pre=("s, l = np.linalg.slogdet(a)",)),
        spec("l", A(2, 3, 3, dom="mat"), pre=("s, l = np.linalg.slogdet(a)",),
             name="np.linalg.slogdet stack"),
        spec("np.linalg.solve(a, b)", A(3, 3, dom="mat"), A(3)),
        spec("np.linalg.solve(a, b)", A(3, 3, dom="mat"), A(3, 2)),
        spec("np.linalg.solve(a, b)", A(2, 3, 3, dom="mat"), A(3)),
        spec("np.linalg.solve(a, b)", A(3, 3, dom="mat"), A(2, 3, 2)),
        spec("np.linalg.cholesky(a)", A(3, 3, dom="spd")),
        spec("np.linalg.cholesky(a)", A(2, 3, 3, dom="spd"), name="np.linalg.cholesky stack"),
        spec("np.linalg.cholesky(a, upper=True)", A(3, 3, dom="spd")),
        spec("np.linalg.matrix_power(a, 3)", A(3, 3), second=False),
        spec("np.linalg.matrix_power(a, 0) + a", A(3, 3), second=False),
        spec("np.linalg.matrix_power(a, -2)", A(3, 3, dom="mat"), second=False),
        spec("np.linalg.multi_dot([a, b, c])", A(3), A(3, 4), A(4), second=False),
        spec("np.linalg.multi_dot([a, b, c])", A(2, 3), A(3, 4), A(4, 2),
             name="np.linalg.multi_dot matrices", second=False),
        # ---- ndarray methods and attributes
        spec("a.sum()", A(3, 4)),
        spec("a.sum(0)", A(3, 4)),
        spec("a.sum(axis=1, keepdims=True)", A(3, 4)),
        spec("a.mean(axis=0)", A(3, 4)),
        spec("a.prod(axis=1)", A(3, 4)),
        spec("a.max()", A(3, 4, dom="distinct")),
        spec("a.max(axis=1, keepdims=True)", A(3, 4, dom="distinct")),
        spec("a.min(0)", A(3, 4, dom="distinct")),
        spec("a.std()", A(3, 4)),
        spec("a.std(axis=0, ddof=1)", A(3, 4)),
        spec("a.var(1)", A(3, 4)),
        spec("a.cumsum(axis=1)", A(3, 4)),
        spec("a.cumsum()", A(3, 4)),
        spec("a.cumprod(0)", A(3, 4)),
        spec("a.dot(b)", A(3, 4), A(4, 2)),
        spec("a.reshape(4, 3)", A(3, 4)),
        spec("a.reshape((2, 6))", A(3, 4)),
        spec("a.reshape(-1)", A(3, 4)),
        spec("a.reshape(2, 3, 2, order='F')", A(3, 4)),
        spec("a.transpose()", A(2, 3, 4)),
        spec("a.transpose(1, 0, 2)", A(2, 3, 4)),
        spec("a.transpose((2, 0, 1))", A(2, 3, 4)),
        spec("a.T", A(2, 3, 4)),
        spec("a.mT", A(2, 3, 4)),
        spec("a.swapaxes(0, 1)", A(2, 3, 4)),
        spec("a.squeeze()", A(3, 1, 4)),
        spec("a.ravel()", A(3, 4)),
        spec("a.flatten()", A(3, 4)),
        spec("a.flatten('F')", A(3, 4)),
        spec("a.copy()", A(3, 4)),
        spec("a.astype(np.float64)", A(3, 4)),
        spec("a.astype(float) * a.astype(int)", A(3, 4)),
        spec("a.astype(np.float32)", A(3, 4), step=1e-2, rtol=1e-4, atol=1e-5, f32=False),
        spec("a.clip(-0.5, 0.5)", A(3, 4, dom="distinct")),
        spec("a.clip(max=b)", A(3, 4), A(4)),
        spec("a.clip(min=b, max=c)", A(3, 4), S("unit"), S("gt1")),
        spec("a.trace()", A(3, 4)),
        spec("a.diagonal(1)", A(3, 4)),
        spec("a.repeat(2, axis=0)", A(3, 4)),
        spec("a.take([0, 2, 2], axis=1)", A(3, 4)),
        spec("a.conj()", A(3, 4)),
        spec("a.conjugate()", A(3, 4)),
        spec("a.real", A(3, 4)),
        spec("a.item(1)", A(3, 4)),
        spec("a.item(2, 3)", A(3, 4)),
        spec("a.item()", A(1, 1)),
        spec("a * a.argmax() + a.argsort()[0]", A(3, 4, dom="distinct")),
        spec("a * (a.round() + a.imag + a.any() + a.all())", A(3, 4)),
        spec("a * a.nonzero()[0].size", A(3, 4)),
        # ---- inserting and deleting, differences, interpolation, partial sorts
        spec("np.append(a, b)", A(2, 3), A(4)),
        spec("np.append(a, b, axis=0)", A(2, 3), A(1, 3)),
        spec("np.append(a, b, axis=1)", A(2, 3), A(2, 2)),
        spec("np.append(a, b)", A(3), S(), name="np.append scalar"),
        spec("np.delete(a, [0, 2])", A(2, 3)),
        spec("np.delete(a, 1, axis=1)", A(2, 3)),
        spec("np.delete(a, slice(0, 2), axis=0)", A(3, 2)),
        spec("np.insert(a, 1, b)", A(2, 3), S()),
        spec("np.insert(a, [0, 2], b, axis=1)", A(2, 3), A(2, 1)),
        spec("np.insert(a, 2, b, axis=0)", A(3, 2), A(2)),
        spec("np.insert(a, [1, 1], b)", A(4), A(2), name="np.insert twice at one place"),
        spec("np.gradient(a)", A(5)),
        spec("np.gradient(a, 0.5, edge_order=2)", A(6)),
        spec("np.gradient(a, axis=1)", A(3, 5)),
        spec("p * q", A(4, 5), pre=("p, q = np.gradient(a, 0.5, 2.0)",)),
        spec("np.gradient(a, np.array([0.0, 0.5, 1.5, 2.0, 3.5]), edge_order=2)", A(5)),
        spec("np.interp(a, np.array([-1.0, 0.0, 1.5, 2.0]), b)", A(3, 4), A(4)),
        spec("np.interp(a, np.array([-1.0, 0.0, 1.5, 2.0]), b, left=c, right=2.0 * c)",
             A(3, 4), A(4), S()),
        spec("np.interp(a, [0.0, 1.0, 2.0], [1.0, 3.0, 2.0])", S()),
        spec("np.partition(a, 2)", A(3, 5, dom="distinct")),
        spec("np.partition(a, (0, 3), axis=0)", A(5, 3, dom="distinct")),
        spec("np.partition(a, 4, axis=None)", A(3, 4, dom="distinct")),
        *([spec("np.row_stack([a, b])", A(3), A(2, 3))] if hasattr(np, "row_stack") else []),
        spec("np.cross(a, b, axisa=0)", A(3, 4), A(4, 3)),
        spec("np.cross(a, b, axis=0)", A(3, 4), A(3, 4)),
        spec("np.cross(a, b, axisa=0, axisb=1, axisc=0)", A(3, 4), A(4, 3)),
        spec("np.cross(a, b, axisb=0, axisc=1)", A(2, 3), A(3, 1)),
        spec("np.real_if_close(a)", A(3, 4)),
        spec("a * np.angle(a)", A(3, 4, dom="away")),
        spec("np.array(sorted([a, b, a * b]))", S(), S()),
        spec("np.array(sorted((a, b, 2.0 * a), reverse=True))", S(), S()),
        spec("np.array(sorted(a))", A(4, dom="distinct")),
        spec("a * np.random.RandomState(0).standard_normal((3, 4))", A(3, 4)),
        # ---- more linear algebra
        spec("np.linalg.eigvalsh(a)", A(3, 3, dom="sym")),
        spec("np.linalg.eigvalsh(a, UPLO='U')", A(3, 3, dom="sym")),
        spec("np.linalg.eigvalsh(a)", A(2, 3, 3, dom="sym"), name="np.linalg.eigvalsh stack"),
        spec("w", A(3, 3, dom="sym"), pre=("w, v = np.linalg.eigh(a)",)),
        spec("v", A(3, 3, dom="sym"), pre=("w, v = np.linalg.eigh(a)",),
             name="np.linalg.eigh vectors"),
        spec("np.linalg.eigh(a, 'U')[1] * np.expand_dims(np.linalg.eigh(a, 'U')[0], -2)",
             A(2, 3, 3, dom="sym")),
        spec("np.linalg.svd(a, compute_uv=False)", A(3, 4), second=False),
        spec("np.linalg.svd(a)[1]", A(4, 3), second=False),
        spec("s", A(2, 3, 3), pre=("u, s, vh = np.linalg.svd(a)",), second=False),
        spec("np.linalg.svdvals(a)", A(3, 2), second=False),
        spec("np.linalg.qr(a)[0]", A(4, 3), second=False),
        spec("r", A(4, 3), pre=("q, r = np.linalg.qr(a)",), second=False),
        spec("q * r", A(3, 3), pre=("q, r = np.linalg.qr(a, mode='complete')",),
             second=False),
        spec("np.linalg.qr(a, mode='r')", A(5, 2), second=False),
        spec("np.linalg.lstsq(a, b)[0]", A(5, 3), A(5), second=False),
        spec("np.linalg.lstsq(a, b)[0]", A(5, 3), A(5, 2), name="np.linalg.lstsq matrix",
             second=False),
        spec("r * 2.0 + x[0]", A(5, 3), A(5), pre=("x, r, k, sv = np.linalg.lstsq(a, b)",),
             second=False),
        spec("sv", A(5, 3), A(5), pre=("x, r, k, sv = np.linalg.lstsq(a, b)",),
             name="np.linalg.lstsq singular values", second=False),
        spec("np.linalg.lstsq(np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]]), a)[0]", A(2),
             second=False),
        spec("np.linalg.pinv(a)", A(4, 3)),
        spec("np.linalg.pinv(a)", A(3, 3, dom="mat"), name="np.linalg.pinv square"),
        spec("np.linalg.pinv(a)", A(2, 3, 4), name="np.linalg.pinv stack"),
    ]
)

# arguments get the names a, b, c, u, v, w; `W_i` is spec i's weight
NAMES = "abcuvw"
IDS = [s.name for s in SPECS]


def _wrapper_source(i, s):
    params = ", ".join(NAMES[:len(s.args)])
    body = "".join(f"    {line}\n" for line in s.pre)
    lift = "".join(f"    {n} = X_{i}_{k} + t * V_{i}_{k}\n"
                   for k, n in enumerate(NAMES[:len(s.args)]))
    return (f"def value_{i}({params}):\n{body}    return {s.expr}\n\n\n"
            f"def f_{i}({params}):\n{body}    return np.sum(W_{i} * ({s.expr}))\n\n\n"
            f"def g_{i}({params}):\n{body}    return np.vdot(W_{i}, {s.expr})\n\n\n"
            f"def z_{i}({params}, flag):\n{body}    out = {s.expr}\n    if flag > 0.0:\n"
            f"        r = np.sum(W_{i} * out)\n    else:\n        r = 2.0 * flag\n"
            f"    return r\n\n\n"
            f"def line_{i}(t):\n{lift}{body}    return np.sum(W_{i} * ({s.expr}))\n\n\n")


class Table:
    """A spec table and the checks every spec gets (tests/test_rules_scipy.py has its own)."""

    def __init__(self, specs, module_name, imports):
        self.specs = specs
        self.module_name = module_name
        self.imports = imports
        self.fd = {}

    def build(self, tmp_path_factory):
        """The generated module of wrappers, with each W_i set to a fixed random array of the
        shape of spec i's output (computed by running the expression once)."""
        text = self.imports + "\n\n\n"
        text += "".join(_wrapper_source(i, s) for i, s in enumerate(self.specs))
        path = tmp_path_factory.mktemp("rules") / f"{self.module_name}.py"
        path.write_text(text)
        module_spec = importlib.util.spec_from_file_location(self.module_name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[self.module_name] = module
        module_spec.loader.exec_module(module)
        for i in range(len(self.specs)):
            out = getattr(module, f"value_{i}")(*self.args(i))
            rng = np.random.default_rng(1000 + i)
            setattr(module, f"W_{i}", rng.standard_normal(np.shape(out)))
            for k, (x, v) in enumerate(zip(self.args(i), self.direction(i), strict=True)):
                setattr(module, f"X_{i}_{k}", x)
                setattr(module, f"V_{i}_{k}", v)
        return module

    def args(self, i, dtype=None):
        rng = np.random.default_rng(i)
        args = [_sample(arg, rng) for arg in self.specs[i].args]
        if dtype is not None:
            args = [a.astype(dtype) if isinstance(a, np.ndarray) else a for a in args]
        return args

    def direction(self, i):
        """A fixed random direction in the space of spec i's arguments."""
        rng = np.random.default_rng(2000 + i)
        return [rng.standard_normal(np.shape(a)) if isinstance(a, np.ndarray) else 0.7
                for a in self.args(i)]

    def wrt(self, i):
        return tuple(range(len(self.specs[i].args)))

    def reference(self, wrappers, i):
        if i not in self.fd:
            s = self.specs[i]
            self.fd[i] = central_fd(getattr(wrappers, f"f_{i}"), self.args(i), self.wrt(i),
                                    step=s.step)
        return self.fd[i]

    def f32_cases(self):
        return [i for i, s in enumerate(self.specs) if s.f32 and any(a.shape for a in s.args)]

    # ---- the checks (the tests below say what each one checks)
    def check_fd(self, wrappers, i, mode):
        s = self.specs[i]
        f = getattr(wrappers, f"f_{i}")
        got = sourcediff.grad(f, wrt=self.wrt(i), mode=mode)(*self.args(i))
        assert_close(got, self.reference(wrappers, i), rtol=s.rtol, atol=s.atol)

    def check_zero_adjoint(self, wrappers, i):
        f = getattr(wrappers, f"z_{i}")
        args = self.args(i)
        got = sourcediff.grad(f, wrt=self.wrt(i))(*args, -1.0)
        zeros = tuple(np.zeros_like(a) if isinstance(a, np.ndarray) else 0.0 for a in args)
        assert_close(got, zeros, rtol=0.0, atol=0.0)
        taken = sourcediff.grad(f, wrt=self.wrt(i))(*args, 1.0)
        assert_close(taken, self.reference(wrappers, i), rtol=self.specs[i].rtol,
                     atol=self.specs[i].atol)

    def check_second(self, wrappers, i):
        s = self.specs[i]
        f = getattr(wrappers, f"f_{i}")
        args = self.args(i)
        wrt = self.wrt(i)
        vs = self.direction(i)
        second = sourcediff.jvp(sourcediff.grad(f, wrt=wrt), wrt=wrt)
        if not s.second:
            with pytest.raises(SourceDiffError):
                second(*args, *vs)
            return
        _, got = second(*args, *vs)
        h = 1e-5
        grad = sourcediff.grad(f, wrt=wrt)
        plus = grad(*[a + h * v for a, v in zip(args, vs, strict=True)])
        minus = grad(*[a - h * v for a, v in zip(args, vs, strict=True)])
        expected = tuple((p - m) / (2 * h) for p, m in zip(plus, minus, strict=True))
        expected = tuple(float(e) if isinstance(a, float) else np.asarray(e, dtype=float)
                         for e, a in zip(expected, args, strict=True))
        assert_close(tuple(got), expected, rtol=1e-4, atol=1e-5)

    def check_reverse_over_reverse(self, wrappers, i):
        line = getattr(wrappers, f"line_{i}")
        second = sourcediff.grad(sourcediff.grad(line))
        if not self.specs[i].second:
            with pytest.raises(SourceDiffError):
                second(0.0)
            return
        h = 1e-5
        first = sourcediff.grad(line)
        assert_close(second(0.0), (first(h) - first(-h)) / (2 * h), rtol=1e-4, atol=1e-5)

    def check_float32(self, wrappers, i, monkeypatch):
        f = getattr(wrappers, f"g_{i}")
        monkeypatch.setattr(wrappers, f"W_{i}", np.asarray(getattr(wrappers, f"W_{i}"),
                                                           dtype=np.float32))
        args = self.args(i, np.float32)
        in_float32 = np.asarray(f(*args)).dtype == np.float32
        seen = []
        original = runtime.gradient_like

        def recording(g, x):
            if isinstance(x, np.ndarray) and isinstance(g, (np.ndarray, np.generic)):
                seen.append((np.asarray(g).dtype, x.dtype))
            return original(g, x)

        monkeypatch.setattr(runtime, "gradient_like", recording)
        got = sourcediff.grad(f, wrt=self.wrt(i))(*args)
        tangents = [np.ones_like(a) if isinstance(a, np.ndarray) else 1.0 for a in args]
        _, out_dot = sourcediff.jvp(f, wrt=self.wrt(i))(*args, *tangents)
        if in_float32:
            assert all(gd == np.float32 for gd, xd in seen if xd == np.float32), seen
            if all(a.shape is not None for a in self.specs[i].args):
                # (a Python-float tangent is widened to float64 by the forward machinery)
                assert np.asarray(out_dot).dtype == np.float32
        reference = sourcediff.grad(f, wrt=self.wrt(i))(*[np.asarray(a, dtype=np.float64)
                                                          if isinstance(a, np.ndarray) else a
                                                          for a in args])
        for g32, g64 in zip(got, reference, strict=True):
            assert np.asarray(g32).dtype == np.asarray(g64).dtype or \
                np.asarray(g32).dtype == np.float32
            np.testing.assert_allclose(g32, g64, rtol=2e-3,
                                       atol=2e-3 * (1 + np.max(np.abs(g64))))


TABLE = Table(SPECS, "generated_rule_wrappers",
              "import math\nimport operator\n\nimport numpy as np")
args_of, _wrt = TABLE.args, TABLE.wrt


@pytest.fixture(scope="session")
def wrappers(tmp_path_factory):
    return TABLE.build(tmp_path_factory)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("i", range(len(SPECS)), ids=IDS)
def test_rule_matches_fd(wrappers, i, mode):
    TABLE.check_fd(wrappers, i, mode)


@pytest.mark.parametrize("i", range(len(SPECS)), ids=IDS)
def test_rule_with_a_zero_adjoint(wrappers, i):
    """The rule's result is used only in the branch not taken: its adjoint is the zero the
    reverse sweep materializes (the float 0.0), and every gradient is zero."""
    TABLE.check_zero_adjoint(wrappers, i)


@pytest.mark.parametrize("i", range(len(SPECS)), ids=IDS)
def test_second_derivatives(wrappers, i):
    """Forward mode over the reverse-mode gradient (the Hessian times a random direction, all
    arguments at once, mixed terms included) against central differences of the gradient, which
    test_rule_matches_fd checks against finite differences of the function. Specs marked
    `second=False` must refuse with a SourceDiffError instead (a rule without second
    derivatives), never give a wrong number."""
    TABLE.check_second(wrappers, i)


@pytest.mark.parametrize("i", range(len(SPECS)), ids=IDS)
def test_second_derivative_by_reverse_over_reverse(wrappers, i):
    """grad(grad(line)) for the function restricted to the line args + t v (so that it is
    scalar to scalar): reverse mode over the generated reverse-mode code, which uses the
    adjoint rules of the runtime helpers, against central differences of grad(line)."""
    TABLE.check_reverse_over_reverse(wrappers, i)


def _flat(x):
    if isinstance(x, (list, tuple)):
        return np.concatenate([_flat(v) for v in x]) if x else np.zeros(0)
    return np.ravel(np.asarray(x, dtype=float))


def _random_like(x, rng):
    if isinstance(x, (list, tuple)):
        return type(x)(_random_like(v, rng) for v in x)
    return rng.standard_normal(np.shape(x)) if np.ndim(x) else float(rng.standard_normal())


def _evaluate(template, values):
    """A rule template evaluated at concrete values (`d[x]` read from values['d_x'])."""
    source = re.sub(r"\bd\[(\w+)\]", r"d_\1", template)
    return eval(source, {"np": np, "math": math, "_sd": runtime}, dict(values))


def test_linear_helper_rules_are_transposes(wrappers, monkeypatch):
    """The rules the table gives the runtime helpers its adjoints call (for derivatives of
    generated code): at arguments recorded from the specs, each adjoint template is the
    transpose of the tangent template, <T(u), w> == <u, A(w)>, for random u and w."""
    calls = {}
    for helper in helper_rules.LINEAR_HELPERS:
        def recording(*args, helper=helper):
            out = helper(*args)
            if helper not in calls or isinstance(calls[helper][1], float):
                calls[helper] = (args, out)   # the first call, or one that returns an array
            return out
        monkeypatch.setattr(runtime, helper.__name__, recording)
    for i in range(len(SPECS)):
        sourcediff.grad(getattr(wrappers, f"f_{i}"), wrt=_wrt(i))(*args_of(i))
    monkeypatch.undo()
    assert set(calls) == set(helper_rules.LINEAR_HELPERS)
    rng = np.random.default_rng(3)
    checked = 0
    for helper, (args, out) in calls.items():
        checked += assert_transposes(registry.RULES[id(helper)], args, out, rng)
    assert checked >= len(calls)


def assert_transposes(rule, args, out, rng):
    """<T(u), w> == <u, A(w)> for each parameter's tangent T and adjoint A templates of
    `rule` at `args` (out = its value there), u and w random; returns how many were checked."""
    values = dict(zip(rule.params, args, strict=False), y=out)
    checked = 0
    for param, adjoint in rule.adjoint.items():
        u = _random_like(values[param], rng)
        w = _random_like(out, rng)
        t = _evaluate(rule.tangent[param], {**values, f"d_{param}": u})
        a = _evaluate(adjoint, {**values, "d_y": w})
        lhs, rhs = _flat(t) @ _flat(w), _flat(u) @ _flat(a)
        assert abs(lhs - rhs) <= 1e-9 * (1 + abs(lhs)), (rule.name, param, lhs, rhs)
        checked += 1
    return checked


# ---- every rule has a spec ----------------------------------------------------------------------
def _applied_rules(func):
    """The rule objects the compiler applies in `func`."""
    fs, _ = prepare(func)
    classify = Classifier(fs, local_names(fs.tree))
    found = set()
    for _, value, _ in assignments(fs.tree.body):
        if value is None:
            continue
        op = classify(value)
        if op.kind == "rule":
            found.add(id(op.rule))
    return found


# rules that exist only to carry an ndarray method (x.reshape(3, 4), x.astype(...)): their
# methods are covered by specs
METHOD_CARRIERS = (runtime.reshape_method, runtime.transpose_method, runtime.astype,
                   runtime.item)


def _table_rules():
    """The rules of the table (numpy, operators, builtins, math) and the ndarray methods.

    Left out: user rules, the method carriers above, the rules for the runtime helpers that
    generated code calls (rules/generated.py, exercised by the higher-order tests), and the
    SciPy rules (tests/test_rules_scipy.py); the `runtime.append` rule behind `list.append`
    belongs to the table.
    """
    carriers = {id(f) for f in METHOD_CARRIERS}
    rules = [r for key, r in registry.RULES.items()
             if not r.user and key not in carriers and not r.name.startswith("scipy.")
             and (not (getattr(r.func, "__module__", "") or "").startswith(runtime.__name__)
                  or r.func is runtime.append)]
    methods = {name: r for name, r in registry.METHODS.items() if r.adjoint or r.tangent}
    return rules, methods


def test_every_rule_has_a_spec(wrappers):
    applied = set()
    for i in range(len(SPECS)):
        applied |= _applied_rules(getattr(wrappers, f"f_{i}"))
    rules, methods = _table_rules()
    missing = [r.name for r in rules if id(r) not in applied]
    missing += [f"method {name}" for name, r in methods.items() if id(r) not in applied]
    assert not missing, f"rules without a spec in SPECS: {sorted(missing)}"


def test_every_differentiable_rule_has_both_modes():
    rules, methods = _table_rules()
    one_sided = [r.name for r in rules + list(methods.values())
                 if bool(r.adjoint) != bool(r.tangent)]
    assert not one_sided
    # the NumPy rules give both templates for the same parameters
    numpy_rules = [r for r in rules if getattr(r.func, "__module__", "").startswith("numpy")
                   or type(r.func).__name__ == "ufunc"]
    assert [r.name for r in numpy_rules if set(r.adjoint) != set(r.tangent)] == []
    assert len(numpy_rules) + len(methods) >= 150


# ---- the check can fail -------------------------------------------------------------------------
def _check(func, mode):
    x = np.array([0.3, -1.2, 2.0])
    got = sourcediff.grad(func, mode=mode)(x)
    assert_close(got, central_fd(func, [x]), rtol=1e-5, atol=1e-6)


def test_a_wrong_rule_fails_the_check():
    key = id(rw.my_square)
    try:
        registry.rule(rw.my_square, "x", adjoint={"x": "d[y] * 2.0 * x"},
                      tangent={"x": "d[x] * 2.0 * x"})
        for mode in MODES:
            _check(rw.uses_square_right, mode)
        registry.rule(rw.my_square, "x", adjoint={"x": "d[y] * 3.0 * x"},
                      tangent={"x": "d[x] * 2.0 * x"})
        with pytest.raises(AssertionError):
            _check(rw.uses_square_wrong_adjoint, "reverse")
        _check(rw.uses_square_wrong_adjoint, "forward")
        registry.rule(rw.my_square, "x", adjoint={"x": "d[y] * 2.0 * x"},
                      tangent={"x": "d[x] * 2.0"})
        with pytest.raises(AssertionError):
            _check(rw.uses_square_wrong_tangent, "forward")
        _check(rw.uses_square_wrong_tangent, "reverse")
    finally:
        registry.RULES.pop(key, None)


# ---- conventions at ties and kinks (derived by hand) --------------------------------------------
def _grads(func, *args):
    wrt = tuple(range(len(args)))
    return [sourcediff.grad(func, wrt=wrt, mode=m)(*args) for m in MODES]


@pytest.mark.parametrize("func, args, expected", [
    (rw.max_with_ties, [np.array([1.0, 3.0, 3.0])], [np.array([0.0, 0.5, 0.5])]),
    (rw.max_rows_with_ties, [np.array([[2.0, 2.0, 1.0], [0.0, 5.0, 5.0]])],
     [np.array([[0.5, 0.5, 0.0], [0.0, 5.0, 5.0]])]),
    (rw.maximum_tie, [np.array([1.0, 2.0]), np.array([1.0, 3.0])],
     [np.array([1.0, 0.0]), np.array([0.0, 1.0])]),
    (rw.minimum_tie, [np.array([1.0, 2.0]), np.array([1.0, 3.0])],
     [np.array([1.0, 1.0]), np.array([0.0, 0.0])]),
    (rw.abs_at_zero, [np.array([0.0, -2.0, 3.0])], [np.array([0.0, -1.0, 1.0])]),
    (rw.clip_at_bounds, [np.array([-1.0, 1.0, 2.0, 0.0])], [np.array([1.0, 1.0, 0.0, 1.0])]),
    (rw.sort_with_ties, [np.array([2.0, 1.0, 2.0, 0.0])], [np.array([3.0, 2.0, 4.0, 1.0])]),
    (rw.norm_at_zero, [np.zeros(3)], [np.zeros(3)]),
    (rw.inf_norm_tie, [np.array([-2.0, 1.0, 2.0])], [np.array([-0.5, 0.0, 0.5])]),
    (rw.std_constant, [np.full(3, 2.0)], [np.zeros(3)]),
    (rw.median_even, [np.array([4.0, 1.0, 3.0, 2.0])], [np.array([0.0, 0.0, 0.5, 0.5])]),
    (rw.ptp_ties, [np.array([1.0, 1.0, 3.0])], [np.array([-0.5, -0.5, 1.0])]),
    (rw.argmax_is_constant, [np.array([1.0, 4.0, 2.0])], [np.array([0.0, 2.0, 0.0])]),
    (rw.prod_two_zeros, [np.array([0.0, 2.0, 0.0])], [np.array([0.0, 0.0, 0.0])]),
    (rw.prod_two_zeros, [np.array([0.0, 2.0, 3.0])], [np.array([6.0, 0.0, 0.0])]),
], ids=lambda v: getattr(v, "__name__", None))
def test_conventions_at_ties_and_kinks(func, args, expected):
    for got in _grads(func, *args):
        assert_close(got, tuple(expected), rtol=1e-12, atol=1e-12)


# ---- random numbers are constants; rules and declarations for bound methods --------------------
GLOBAL_RNG = np.random.default_rng(0)


def draw_with_active_loc(x):
    return np.sum(x * GLOBAL_RNG.normal(loc=x, size=3))


def draw_in_zero_term(x):
    return np.sum(x ** 2) + 0.0 * np.sum(GLOBAL_RNG.standard_normal(3) * x)


def global_randn(x):
    return np.sum(x * np.random.randn(3))


def permutation_of_active(x):
    return np.sum(GLOBAL_RNG.permutation(x) * np.arange(3.0))


def test_random_draws_are_constants():
    """Draws from a module-level Generator and np.random's functions carry no derivative (the
    gradient of sum(x * draw) is the draw), in both modes; a permutation of an active value
    has no rule and is refused, naming the method."""
    global GLOBAL_RNG
    x = np.array([0.5, -1.0, 2.0])
    GLOBAL_RNG = np.random.default_rng(3)
    got = sourcediff.grad(draw_with_active_loc)(x)
    assert_close(got, np.random.default_rng(3).normal(loc=x, size=3), rtol=1e-12, atol=0.0)
    np.random.seed(5)
    got = sourcediff.grad(global_randn)(x)
    np.random.seed(5)
    assert_close(got, np.random.randn(3), rtol=1e-12, atol=0.0)
    for mode in MODES:
        assert_close(sourcediff.grad(draw_in_zero_term, mode=mode)(x), 2.0 * x, rtol=1e-12,
                     atol=0.0)
        with pytest.raises(sourcediff.MissingRuleError, match="permutation"):
            sourcediff.grad(permutation_of_active, mode=mode)(x)
    names = dict(registry.rule_listing())
    assert names["numpy.random.Generator.*"] == names["numpy.random.seed"] == \
        ["nondifferentiable"]


class _Scaler:
    def __init__(self, k):
        self.k = k

    def apply(self, x):
        return self.k * x


def test_rules_for_bound_methods_are_found_again():
    """`obj.method` is a new object at every read: a rule registered for one is found for
    the next (the same instance and name), not for another instance's."""
    first, second = _Scaler(2.0), _Scaler(3.0)
    try:
        registry.rule(first.apply, "x", adjoint={"x": "d[y] * 2.0"},
                      tangent={"x": "d[x] * 2.0"})
        registry.nondifferentiable(second.apply)
        assert registry.lookup(first.apply) is not None
        assert registry.lookup(second.apply) is None
        assert registry.is_nondifferentiable(second.apply)
        assert not registry.is_nondifferentiable(first.apply)
        assert not registry.is_nondifferentiable(_Scaler(1.0).apply)
    finally:
        registry.RULES.pop(registry._key(first.apply), None)
        registry.NONDIFFERENTIABLE.pop(registry._key(second.apply), None)


# ---- what the table refuses ---------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", [
    rw.sum_where, rw.concatenate_dtype, rw.pad_mean, rw.pad_active_constant,
    rw.average_returned, rw.einsum_interleaved, rw.linspace_retstep,
], ids=lambda f: f.__name__)
def test_unsupported_calls_are_refused(func, mode):
    with pytest.raises(SourceDiffError):
        sourcediff.grad(func, mode=mode)(np.array([0.5, -1.0, 2.0]))


@pytest.mark.parametrize("mode", MODES)
def test_einsum_with_literal_sublists_is_the_subscripts_form(mode):
    """np.einsum(a, [0, 1], b, [1, 2], [0, 2]) is rewritten to 'ab,bc->ac' (passes/iterators.py):
    against central finite differences."""
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 2))
    got = sourcediff.grad(rw.einsum_literal_sublists, wrt=(0, 1), mode=mode)(a, b)
    assert_close(got, central_fd(rw.einsum_literal_sublists, (a, b), (0, 1)))


def test_unsupported_second_derivative_is_refused():
    x = np.array([0.5, -1.0, 2.0])
    assert isinstance(sourcediff.grad(rw.second_derivative_nuclear_norm)(x), np.ndarray)
    with pytest.raises(SourceDiffError):
        sourcediff.hessian(rw.second_derivative_nuclear_norm)(x)


# ---- float32 stays float32 ----------------------------------------------------------------------
F32 = TABLE.f32_cases()


@pytest.mark.parametrize("i", F32, ids=[IDS[i] for i in F32])
def test_float32_derivatives_stay_float32(wrappers, i, monkeypatch):
    """With float32 arrays, the rules compute in float32 wherever NumPy computes the function
    itself in float32: the adjoints reaching `gradient_like` (which would hide an upcast by
    casting back) and the output tangent are float32; and they are close to the float64
    derivatives. The check contracts with `np.vdot(W, ...)` (a float32 W): its rule keeps the
    dtype of the seed."""
    TABLE.check_float32(wrappers, i, monkeypatch)
