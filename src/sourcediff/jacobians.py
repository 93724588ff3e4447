"""Jacobians, Hessians and Hessian-vector products, built on the transforms of `api`:
`jacobian` in forward mode runs the vector forward mode (one pass of the generated tangent
code carrying every input direction at once, or `chunk_size` of them per pass; one pass per
column where the vector mode cannot follow the code), in reverse mode one cotangent pass per
output element; `hessian` is the forward-mode Jacobian of the reverse-mode gradient, `hvp`
one forward pass over the gradient, and `grad(hvp(f))` one more.
"""

from __future__ import annotations

import functools

import numpy as np

from . import runtime
from .api import Derivative, ThirdDerivative, _global_name, _transform, attempt_vector
from .errors import SourceDiffError, WrtError
from .rules import registry


class Jacobian:
    """`jacobian(f, wrt, mode)`: calls return an array of shape output.shape + input.shape."""

    __sourcediff_transform__ = False

    def __init__(self, func, wrt, mode, chunk_size=None):
        if mode not in ("reverse", "forward"):
            raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
        if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(
                chunk_size, int) or chunk_size < 1):
            raise ValueError(f"chunk_size must be a positive number of columns, not "
                             f"{chunk_size!r}")
        if isinstance(func, Derivative):
            mode = "forward"
        self.func = func
        self.mode = mode
        self.wrt = wrt
        self.chunk_size = chunk_size
        self.tangent = _transform("jvp", func, wrt) if mode == "forward" else None
        # the vector mode, until it meets code it cannot follow (then one pass per column)
        self.vector = _transform("jvp", func, wrt, batched=True) if mode == "forward" else None
        self.cotangent = _transform("vjp", func, wrt) if mode == "reverse" else None
        d = self.tangent or self.cotangent
        self.wrt_index = d.wrt_index
        self.wrt_tuple = d.wrt_tuple
        functools.update_wrapper(self, func, updated=())

    def __call__(self, *args):
        if self.mode == "forward":
            if self.vector is not None and runtime.vector_pays(args, self.wrt_index):
                ok, out = attempt_vector(self._vector, args)
                if ok:
                    return out
                self.vector = None
            return self._forward(args)
        return self._reverse(args)

    def _vector(self, args):
        """The Jacobian from the vector forward mode: the tangents of all wrt inputs stacked
        as directions, `chunk_size` (default: all) directions per pass."""
        value, columns, inputs, starts = runtime.vector_columns(
            self.vector, args, self.wrt_index, self.chunk_size)
        out_shape = np.shape(value)
        blocks = []
        for x, start in zip(inputs, starts, strict=True):
            block = columns[start:start + x.size].T.reshape(out_shape + x.shape)
            blocks.append(block.astype(self._dtype(value, x), copy=False))
        return tuple(blocks) if self.wrt_tuple else blocks[0]

    def _forward(self, args):
        inputs = [np.asarray(args[i]) for i in self.wrt_index]
        blocks = []
        for which, x in enumerate(inputs):
            columns = []
            for j in range(max(x.size, 1)):
                tangents = []
                for k, other in enumerate(inputs):
                    t = np.zeros(other.shape, dtype=self._floating(other.dtype))
                    if k == which:
                        t.reshape(-1)[j] = 1.0
                    tangents.append(t if other.shape else float(t))
                value, out_dot = self.tangent(*args, *tangents)
                out_dot = np.asarray(out_dot)
                columns.append(out_dot.reshape(-1))
            jac = np.stack(columns, axis=-1).reshape(out_dot.shape + x.shape)
            blocks.append(jac.astype(self._dtype(value, x), copy=False))
        return tuple(blocks) if self.wrt_tuple else blocks[0]

    def _reverse(self, args):
        value = np.asarray(self.func(*args))
        rows = []
        for i in range(max(value.size, 1)):
            cot = np.zeros(value.shape, dtype=self._floating(value.dtype))
            cot.reshape(-1)[i] = 1.0
            _, grads = self.cotangent(*args, cot if value.shape else 1.0)
            grads = grads if self.wrt_tuple else (grads,)
            rows.append([np.asarray(g) for g in grads])
        blocks = []
        for k, i in enumerate(self.wrt_index):
            x_shape = np.shape(args[i])
            stacked = np.stack([r[k] for r in rows]).reshape(value.shape + x_shape)
            blocks.append(stacked.astype(self._dtype(value, args[i]), copy=False))
        return tuple(blocks) if self.wrt_tuple else blocks[0]

    @staticmethod
    def _floating(dtype):
        """`dtype` if it is a floating (or complex) type, else float64."""
        return dtype if np.issubdtype(dtype, np.inexact) else np.dtype(float)

    @staticmethod
    def _dtype(value, x):
        """The dtype of the block for output `value` and input `x`: float32 when both are
        float32 (the Jacobian keeps the precision of the computation), float64 when either is
        float64, an integer or a Python float."""
        return np.result_type(Jacobian._floating(np.asarray(value).dtype),
                              Jacobian._floating(np.asarray(x).dtype))

    def __reduce__(self):
        """Pickle by reference (see Derivative.__reduce__); `hessian(f)` is the Jacobian of
        `grad(f)` and pickles as such."""
        return _global_name(self) or (Jacobian, (self.func, self.wrt, self.mode))


def jacobian(func=None, wrt=0, *, mode="reverse", chunk_size=None):
    """The Jacobian of `func` with respect to `wrt`, shaped output.shape + input.shape.

    `mode="reverse"` uses one vjp per output element; `mode="forward"` the vector forward
    mode, one pass with every input direction (`chunk_size` directions per pass, to bound
    memory)."""
    if func is None:
        return lambda f: Jacobian(f, wrt, mode, chunk_size)
    return Jacobian(func, wrt, mode, chunk_size)


def jacfwd(func=None, wrt=0, *, chunk_size=None):
    """`jacobian(func, wrt, mode="forward")` (JAX's name)."""
    return jacobian(func, wrt, mode="forward", chunk_size=chunk_size)


def jacrev(func=None, wrt=0):
    """`jacobian(func, wrt, mode="reverse")` (JAX's name)."""
    return jacobian(func, wrt, mode="reverse")


def hessian(func=None, wrt=0, *, chunk_size=None):
    """The Hessian of a scalar function: the vector forward mode over the reverse-mode
    gradient (`chunk_size` directions per pass)."""
    if func is None:
        return lambda f: hessian(f, wrt, chunk_size=chunk_size)
    if isinstance(wrt, tuple):
        raise WrtError("hessian takes a single wrt argument",
                       hint="for mixed second derivatives use jacobian(grad(f, wrt=a), wrt=b)")
    return Jacobian(_transform("grad", func, wrt), wrt, "forward", chunk_size)


class HessianVectorProduct:
    """`hvp(f, wrt)(*args, v)`: the Hessian times `v`, by forward mode over the gradient; a
    `v` with one more axis than the wrt argument is a batch of vectors (one per row), whose
    products come from one pass of the vector forward mode."""

    def _sd_differentiate(self, kind, wrt):
        if kind != "grad":
            raise SourceDiffError(f"{kind} of an hvp is not supported; grad(hvp(f)) is")
        return GradOfHvp(self, wrt)

    def __init__(self, func, wrt):
        if isinstance(wrt, tuple):
            raise WrtError("hvp takes a single wrt argument")
        self.func = func
        self.tangent = _transform("jvp", _transform("grad", func, wrt), wrt)
        functools.update_wrapper(self, func, updated=())

    def __call__(self, *args):
        if not args:
            raise TypeError("hvp needs the function's arguments followed by a vector v")
        *primal, v = args
        i = self.tangent.wrt_index[0]
        if i < len(primal) and type(v) is np.ndarray and v.ndim == np.ndim(primal[i]) + 1:
            return self._batch(primal, v)
        _, product = self.tangent(*primal, v)
        return product

    def _batch(self, primal, vs):
        """A batch of vectors `vs` (shape (k,) + x.shape): their products with the Hessian,
        stacked, from one pass of the vector forward mode over the gradient."""
        vector = getattr(self, "vector", None)
        if vector is None and not hasattr(self, "vector"):
            vector = self.vector = _transform("jvp", self.tangent.func, self.tangent.wrt_arg,
                                              batched=True)
        if vector is not None and len(vs):
            ok, out = attempt_vector(vector, *primal, vs, len(vs))
            if ok:
                return np.asarray(out[1])
            self.vector = None
        return np.stack([np.asarray(self.tangent(*primal, v)[1]) for v in vs]) if len(vs) \
            else np.zeros(vs.shape)

    def __reduce__(self):
        return _global_name(self) or (HessianVectorProduct, (self.func, self.tangent.wrt_arg))


class GradOfHvp(ThirdDerivative):
    """`grad(hvp(f))(*args, v)`: d/dx of the (scalar) product H(x) v, one forward pass over the
    hvp's generated code (forward over forward over reverse)."""

    def __init__(self, hvp_, wrt):
        inner = hvp_.tangent
        self.outer = _transform("jvp", inner, wrt)
        if len(self.outer.wrt_index) != 1:
            raise WrtError("grad of an hvp takes a single wrt argument")
        functools.update_wrapper(self, hvp_, updated=())

    def __call__(self, *args):
        _, tangents = self.outer(*args, 1.0)
        return self._value(tangents)


def hvp(func=None, wrt=0):
    """Hessian-vector products without forming the Hessian: `hvp(f)(*args, v)`."""
    if func is None:
        return lambda f: HessianVectorProduct(f, wrt)
    return HessianVectorProduct(func, wrt)


__all__ = ["hessian", "hvp", "jacobian"]

# a derivative made inside a differentiated function is a value no derivative flows into
registry.nondifferentiable(jacobian, hessian, hvp)
