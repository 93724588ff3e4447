"""The vector forward mode (one pass of the tangent code carrying many directions) against
one tangent pass per column, on every corpus.

Each comparison runs the vector mode itself (`Jacobian._vector`, no fallback) with all
directions at once and in chunks of 1, 2 and 3 directions (a chunk whose length equals an
axis of the data is where a tangent whose axes were not lined up would broadcast silently),
and the one-pass-per-column Jacobian (`Jacobian._forward`), which the corpus tests check
against finite differences. Results must agree to 1e-12. Code the vector mode cannot carry
must say so (`VectorModeError` when compiling, `Unbatchable` at run time), never give other
numbers, and `jacobian` then gives the per-column result; the coverage test bounds how much
of each corpus takes that fallback.
"""

import corpus
import corpus_aliasing
import corpus_containers
import corpus_values
import numpy as np
import pytest
from conftest import quick_every
from fd import case_ids, resolve_wrt
from test_higher_order import VECTOR_CASES, VECTOR_IDS

import sourcediff
from sourcediff import runtime
from sourcediff.api import _transform
from sourcediff.errors import VectorModeError
from sourcediff.jacobians import Jacobian

REFUSALS = (VectorModeError, runtime.Unbatchable)


def _numeric(case):
    """Whether every wrt argument is a float or an array (what `jacobian` takes)."""
    indices, _ = resolve_wrt(case.fn, case.args, case.wrt)
    return all(isinstance(case.args[i], (float, np.ndarray)) and not isinstance(
        case.args[i], bool) and np.asarray(case.args[i]).dtype.kind == "f" for i in indices)


def _cases(module):
    return [c for c in module.CASES if _numeric(c)]


# the vector mode carries every case of these (calls to functions held in values and records
# of corpus_values it refuses: one pass per column then)
CORPORA = {"corpus": _cases(corpus), "aliasing": _cases(corpus_aliasing),
           "containers": _cases(corpus_containers), "values": _cases(corpus_values)}
ALL = [(name, c) for name, cases in CORPORA.items() for c in cases]
IDS = [f"{name}-{i}" for name, i in zip([n for n, _ in ALL],
                                         case_ids([c for _, c in ALL]), strict=True)]


def _copy(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _assert_equal_blocks(got, expected, what):
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(got) == len(expected), what
    for g, e in zip(got, expected, strict=True):
        g, e = np.asarray(g), np.asarray(e)
        assert g.shape == e.shape, f"{what}: shape {g.shape} != {e.shape}"
        assert g.dtype == e.dtype, f"{what}: dtype {g.dtype} != {e.dtype}"
        both_nan = np.isnan(g) & np.isnan(e)
        scale = 1.0 + np.max(np.abs(np.where(np.isfinite(e), e, 0.0)), initial=0.0)
        close = np.isclose(g, e, rtol=1e-12, atol=1e-12 * scale) | both_nan
        assert close.all(), f"{what}: vector mode {g} != per column {e}"


def _compare(jac, args):
    """The vector mode in every chunking against one pass per column; False when the vector
    mode refuses this code."""
    expected = jac._forward(_copy(args))
    for chunk in (None, 1, 2, 3):
        jac.chunk_size = chunk
        before = _copy(args)
        try:
            got = jac._vector(args)
        except REFUSALS:
            assert chunk is None, "the vector mode refused a chunk after accepting another"
            jac.chunk_size = None
            _assert_equal_blocks(jac(*args), expected, "jacobian after the fallback")
            return False
        for a, b in zip(args, before, strict=True):
            assert not isinstance(a, np.ndarray) or np.array_equal(a, b, equal_nan=True), \
                "the vector mode changed an argument"
        _assert_equal_blocks(got, expected, f"chunk_size={chunk}")
    return True


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
@pytest.mark.parametrize("entry", quick_every(ALL, 15), ids=IDS)
def test_vector_jacobian_equals_per_column(entry, optimize):
    corpus_name, case = entry
    jac = Jacobian(case.fn, case.wrt, "forward")
    if not optimize:   # the tangent code as generated, in both versions
        jac.tangent = _transform("jvp", case.fn, case.wrt, optimize=False)
        jac.vector = _transform("jvp", case.fn, case.wrt, optimize=False, batched=True)
    vectorized = _compare(jac, case.args)
    assert vectorized or corpus_name == "values", "the vector mode refused this case"


@pytest.mark.parametrize("k", range(len(VECTOR_CASES)), ids=VECTOR_IDS)
def test_vector_jacobian_of_vector_outputs(k):
    fn, args, wrt = VECTOR_CASES[k]
    assert _compare(Jacobian(fn, wrt, "forward"), args), "the vector mode refused this case"


@pytest.mark.parametrize("entry", quick_every(ALL, 15), ids=IDS)
def test_vector_hessian_equals_per_column(entry):
    _, case = entry
    indices, is_tuple = resolve_wrt(case.fn, case.args, case.wrt)
    for i in indices:
        hess = sourcediff.hessian(case.fn, wrt=i)
        try:
            _compare(hess, case.args)
        except sourcediff.SourceDiffError as exc:
            if isinstance(exc, VectorModeError):
                raise
            # a second derivative sourcediff refuses (the per-column pass refuses it too)
            with pytest.raises(sourcediff.SourceDiffError):
                Jacobian(sourcediff.grad(case.fn, wrt=i), i, "forward")._forward(case.args)


def _softplus_sum(x, w):
    return np.sum(np.logaddexp(0.0, x * w)) + np.sum(x ** 3) * w[0]


def test_forward_mode_gradient_runs_one_vector_pass(monkeypatch):
    """grad(f, mode="forward") of array arguments: one run of the vector tangent code, not one
    pass per element (which would call runtime.forward_gradient); the gradient is the closed
    form worked out by hand."""
    x, w = np.array([0.3, -1.2, 0.8]), np.array([1.5, -0.4, 0.7])

    def per_element(*args, **kwargs):
        raise AssertionError("one pass per element")
    monkeypatch.setattr(runtime, "forward_gradient", per_element)
    gx, gw = sourcediff.grad(_softplus_sum, wrt=(0, 1), mode="forward")(x, w)
    s = 1.0 / (1.0 + np.exp(-x * w))
    np.testing.assert_allclose(gx, s * w + 3.0 * x ** 2 * w[0], rtol=1e-13)
    np.testing.assert_allclose(gw, s * x + np.array([np.sum(x ** 3), 0.0, 0.0]), rtol=1e-13)


def test_a_failing_vector_pass_falls_back_to_one_pass_per_column(monkeypatch):
    """An error inside the vector mode's own code (here: its elementwise lift, made to fail)
    gives the per-column Jacobian, unless SOURCEDIFF_VECTOR_STRICT=1 asks for the error."""
    x = np.array([0.4, -1.3, 2.0])

    def broken(*args):
        raise ValueError("broken lift")
    monkeypatch.setattr(runtime.batch, "lift", broken)
    monkeypatch.setattr(runtime, "lift", broken)

    def f(v):
        return np.sin(v) * v[0]
    expected = np.diag(np.cos(x) * x[0]) + np.outer(np.sin(x), [1.0, 0.0, 0.0])
    monkeypatch.setattr(runtime.batch, "STRICT", False)
    np.testing.assert_allclose(sourcediff.jacobian(f, mode="forward")(x), expected, rtol=1e-13)
    monkeypatch.setattr(runtime.batch, "STRICT", True)
    with pytest.raises(ValueError, match="broken lift"):
        sourcediff.jacobian(f, mode="forward")(x)


# fuzz programs (seed 981, second order on every program) whose vector Hessian raised in its
# helpers: a zero 0.0 (standing for any shape) whose tangent has a shape, a number's tangent
# summed back along an axis
def _list_twice_scaled_in_place(a1, n1):
    ws3 = [n1, n1]
    ws3[-1] *= 0.5 * np.tanh((np.mean(n1) * np.ones((2, 2))) @ (a1 * np.ones((2, 1))))
    return -0.6 * np.sum(n1)


def _ignores_its_argument(a1, b2=1.5, *, scale=1.0):
    b3 = np.tanh(0.5 * ((0.5 * np.ones((2,))) @ (0.5 * np.ones((2, 3)))))
    return 0.5 * 0.5 + 0.5 * np.tanh(np.sum(b3.reshape(1, 3)))


def _mean_along_an_axis_into_an_unused_keyword(a1):
    u4 = _ignores_its_argument(0.5, b2=np.sin(np.mean(a1, axis=0) @ np.mean(a1, axis=0)),
                               scale=0.5)
    return 0.5 * u4 + np.sum(np.mean(a1, axis=0) ** 2)


FOUND = [(_list_twice_scaled_in_place, (np.array([1.0, 1.0, -1.0]),
                                         np.array([[0.0, 1.0, 1.0], [1.0, -1.0, 0.0]])), 1),
         (_mean_along_an_axis_into_an_unused_keyword,
          (np.array([[1.0, -1.0, -1.0], [0.0, -1.0, 0.0], [-1.0, -1.0, 0.0]]),), 0)]


@pytest.mark.parametrize("k", range(len(FOUND)))
def test_vector_hessian_of_fuzz_finds(k):
    """The vector Hessian equals the per-column one, or the vector mode says it cannot carry
    the code (the first: a tangent that lost its direction axis) and jacobian falls back."""
    fn, args, wrt = FOUND[k]
    _compare(sourcediff.hessian(fn, wrt=wrt), args)


def _cubic_and_cross(x):
    return np.sum(x ** 3) + x[0] * x[1] * x[2]


def test_hvp_of_a_batch_of_vectors():
    """hvp(f)(x, V) with V of shape (k, n): the rows' Hessian-vector products in one vector
    pass, against the Hessian worked out by hand (diag(6x) plus the cross term's)."""
    x = np.array([0.5, -1.5, 2.0])
    H = np.diag(6.0 * x) + np.array([[0.0, x[2], x[1]], [x[2], 0.0, x[0]], [x[1], x[0], 0.0]])
    V = np.array([[1.0, 0.0, 0.0], [0.3, -0.7, 1.1], [0.0, 2.0, -1.0], [1.0, 1.0, 1.0]])
    hvp = sourcediff.hvp(_cubic_and_cross)
    np.testing.assert_allclose(hvp(x, V), V @ H.T, rtol=1e-13)
    np.testing.assert_allclose(hvp(x, V[1]), H @ V[1], rtol=1e-13)
    assert hvp.vector is not None, "the batch fell back to one pass per vector"
