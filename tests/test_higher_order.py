"""Forward/reverse consistency and higher-order derivatives.

1. jvp against vjp on every corpus case (the dot-product test <u, J v> = <J^T u, v>).
2. hessian against central finite differences of the reverse-mode gradient; symmetry.
3. hvp against hessian @ v and against finite differences of the gradient along v.
4. grad(grad(f)) of scalar functions against second derivatives worked out by hand.
5. jacobian (both modes) of vector-valued functions against finite-difference Jacobians.
6. jvp(grad(f)), and derivatives of user functions that call generated derivatives, against
   closed forms.

References are finite differences or closed forms derived by hand, never values copied from
sourcediff.
"""

import math
from collections import Counter

import higher_funcs as hf
import numpy as np
import pytest
from conftest import quick_every
from corpus import CASES
from fd import assert_close, resolve_wrt

import sourcediff
from sourcediff import SourceDiffError

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _unique_ids(names):
    seen = Counter()
    ids = []
    for name in names:
        seen[name] += 1
        ids.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return ids


def _copy_args(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def fd_jacobian(f, args, wrt=0, step=1e-6):
    """Central finite-difference Jacobian of ``f(*args)`` (any output shape).

    For each ``wrt`` argument the block has shape ``output.shape + argument.shape``; a tuple
    ``wrt`` gives a tuple of blocks.  The step is ``step * max(1, |x_i|)`` per element, made
    exactly representable.
    """
    indices, is_tuple = resolve_wrt(f, tuple(args), wrt)
    out_shape = np.shape(np.asarray(f(*_copy_args(args)), dtype=float))
    blocks = []
    for i in indices:
        x = args[i]
        x_arr = np.asarray(x, dtype=float)
        jac = np.zeros(out_shape + x_arr.shape)
        for index in np.ndindex(x_arr.shape):
            xi = float(x_arr[index])
            h = step * max(1.0, abs(xi))
            h = (xi + h) - xi

            def at(delta, i=i, index=index, x=x, x_arr=x_arr):
                a = _copy_args(args)
                if isinstance(x, np.ndarray):
                    moved = x_arr.copy()
                    moved[index] += delta
                    a[i] = moved
                else:
                    a[i] = float(x) + delta
                return np.asarray(f(*a), dtype=float)

            jac[(Ellipsis, *index)] = (at(h) - at(-h)) / (2.0 * h)
        blocks.append(jac)
    return tuple(blocks) if is_tuple else blocks[0]


def _random_like(rng, x):
    if isinstance(x, np.ndarray):
        return rng.normal(size=x.shape)
    return float(rng.normal())


def _inner(a, b):
    return float(np.sum(np.asarray(a, dtype=float) * np.asarray(b, dtype=float)))


def assert_array_close(actual, expected, rtol, atol=0.0, what="value"):
    """Same shape, floating dtype, finite, and |a - e| <= atol + rtol * max|e| elementwise."""
    actual_arr = np.asarray(actual)
    expected = np.asarray(expected, dtype=float)
    assert actual_arr.shape == expected.shape, (
        f"{what}: expected shape {expected.shape}, got {actual_arr.shape}")
    assert np.issubdtype(actual_arr.dtype, np.floating), (
        f"{what}: expected a floating dtype, got {actual_arr.dtype}")
    assert np.all(np.isfinite(actual_arr)), f"{what}: non-finite entries {actual_arr!r}"
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    err = float(np.max(np.abs(actual_arr - expected))) if expected.size else 0.0
    assert err <= atol + rtol * scale, (
        f"{what}: max abs error {err:.3e} > {atol + rtol * scale:.3e}\n"
        f"actual=\n{actual_arr!r}\nexpected=\n{expected!r}")


# --------------------------------------------------------------------------------------------
# 1. jvp against vjp: the dot-product test on the whole corpus
# --------------------------------------------------------------------------------------------

CASE_IDS = _unique_ids([c.name for c in CASES])


@pytest.mark.parametrize("k", quick_every(range(len(CASES)), 20), ids=CASE_IDS)
def test_jvp_vjp_dot_product(k):
    case = CASES[k]
    rng = np.random.default_rng(1000 + k)
    args = case.args
    indices, is_tuple = resolve_wrt(case.fn, args, case.wrt)
    directions = [_random_like(rng, args[i]) for i in indices]
    u = float(rng.normal())
    expected_value = case.fn(*_copy_args(args))

    value, tangent = sourcediff.jvp(case.fn, wrt=case.wrt)(*args, *directions)
    assert np.shape(tangent) == (), f"scalar output but tangent of shape {np.shape(tangent)}"
    assert abs(value - expected_value) <= 1e-12 * max(1.0, abs(expected_value))

    value2, grads = sourcediff.vjp(case.fn, wrt=case.wrt)(*args, u)
    assert abs(value2 - expected_value) <= 1e-12 * max(1.0, abs(expected_value))
    grads = grads if is_tuple else (grads,)
    assert len(grads) == len(indices)
    for g, i in zip(grads, indices):
        assert np.shape(g) == np.shape(args[i])

    lhs = u * float(tangent)
    terms = [_inner(g, v) for g, v in zip(grads, directions)]
    rhs = sum(terms)
    scale = max(1.0, abs(lhs), sum(abs(t) for t in terms))
    assert abs(lhs - rhs) <= 1e-10 * scale, f"<u, J v> = {lhs!r} but <J^T u, v> = {rhs!r}"


_RNG = np.random.default_rng(20240612)


def _normal(*shape):
    return _RNG.normal(size=shape)


# Vector-valued functions: (function, args, wrt)
VECTOR_CASES = [
    (hf.broadcast_outer, (_normal(3, 1), _normal(4)), (0, 1)),
    (hf.matvec, (_normal(2, 3), _normal(3)), (0, 1)),
    (hf.matmul_tanh, (_normal(2, 3), _normal(3, 2)), (0, 1)),
    (hf.horner_vec, (_normal(4),), 0),
    (hf.power_loop_vec, (_normal(3), 4), 0),
    (hf.sin_exp_vec, (_normal(2, 3),), 0),
    (hf.softmax, (_normal(4),), 0),
    (hf.scalar_to_vector, (0.3, _normal(3)), (0, 1)),
    (hf.rows_times_weights, (_normal(3, 4), _normal(4)), (0, 1)),
    (hf.vector_with_branch, (_normal(3), 0.4), (0, 1)),
    (hf.vector_with_branch, (_normal(3), -0.4), (0, 1)),
]
VECTOR_IDS = _unique_ids([c[0].__name__ for c in VECTOR_CASES])


@pytest.mark.parametrize("k", quick_every(range(len(VECTOR_CASES)), 5), ids=VECTOR_IDS)
def test_jvp_vjp_dot_product_vector_output(k):
    fn, args, wrt = VECTOR_CASES[k]
    rng = np.random.default_rng(2000 + k)
    indices, is_tuple = resolve_wrt(fn, args, wrt)
    directions = [_random_like(rng, args[i]) for i in indices]
    expected_value = fn(*_copy_args(args))
    u = rng.normal(size=np.shape(expected_value))

    value, tangent = sourcediff.jvp(fn, wrt=wrt)(*args, *directions)
    assert_array_close(value, expected_value, rtol=1e-14, what="jvp value")
    assert np.shape(tangent) == np.shape(expected_value)
    _, grads = sourcediff.vjp(fn, wrt=wrt)(*args, u)
    grads = grads if is_tuple else (grads,)
    lhs = _inner(u, tangent)
    terms = [_inner(g, v) for g, v in zip(grads, directions)]
    scale = max(1.0, abs(lhs), sum(abs(t) for t in terms))
    assert abs(lhs - sum(terms)) <= 1e-10 * scale


# --------------------------------------------------------------------------------------------
# 2 + 3. Hessians and Hessian-vector products of corpus functions, one argument at a time
# --------------------------------------------------------------------------------------------

# Every (case, argument) pair of the corpus: each argument of a multi-argument case is a
# single-wrt Hessian problem of its own.  Scalar and array inputs, loops, branches, helpers,
# recursion.
HESSIAN_CASES = []
for _case in CASES:
    _indices, _ = resolve_wrt(_case.fn, _case.args, _case.wrt)
    for _i in _indices:
        HESSIAN_CASES.append((_case, _i))
HESSIAN_IDS = _unique_ids([f"{c.name}-arg{i}" for c, i in HESSIAN_CASES])
assert len(HESSIAN_CASES) >= 15

_FD_HESSIANS = {}


def _fd_hessian(case, i):
    """Central differences of sourcediff's (reverse-mode) gradient."""
    key = (id(case), i)
    if key not in _FD_HESSIANS:
        g = sourcediff.grad(case.fn, wrt=i)
        _FD_HESSIANS[key] = fd_jacobian(g, case.args, i, step=1e-5)
    return _FD_HESSIANS[key]


def _size(x):
    return int(np.size(x))


@pytest.mark.parametrize("k", quick_every(range(len(HESSIAN_CASES)), 25), ids=HESSIAN_IDS)
def test_hessian_matches_fd_of_gradient(k):
    case, i = HESSIAN_CASES[k]
    x = case.args[i]
    H = sourcediff.hessian(case.fn, wrt=i)(*case.args)
    expected = _fd_hessian(case, i)
    assert np.shape(H) == np.shape(x) + np.shape(x)
    assert_array_close(H, expected, rtol=1e-5, what="hessian")

    n = _size(x)
    Hm = np.asarray(H, dtype=float).reshape(n, n)
    scale = max(1.0, float(np.max(np.abs(Hm))))
    assert np.max(np.abs(Hm - Hm.T)) <= 1e-10 * scale, "hessian is not symmetric"


@pytest.mark.parametrize("k", quick_every(range(len(HESSIAN_CASES)), 40), ids=HESSIAN_IDS)
def test_hvp_matches_hessian_times_v(k):
    case, i = HESSIAN_CASES[k]
    x = case.args[i]
    rng = np.random.default_rng(3000 + k)
    v = _random_like(rng, x)

    product = sourcediff.hvp(case.fn, wrt=i)(*case.args, v)
    assert np.shape(product) == np.shape(x)

    # against the finite-difference Hessian, contracted with v
    H_fd = _fd_hessian(case, i)
    n = _size(x)
    expected_fd = (H_fd.reshape(n, n) @ np.reshape(v, n)).reshape(np.shape(x))
    assert_array_close(product, expected_fd, rtol=1e-5, what="hvp vs FD hessian @ v")

    # and against sourcediff's own Hessian, which must agree to rounding
    H = np.asarray(sourcediff.hessian(case.fn, wrt=i)(*case.args), dtype=float)
    expected = (H.reshape(n, n) @ np.reshape(v, n)).reshape(np.shape(x))
    assert_array_close(product, expected, rtol=1e-10, what="hvp vs hessian @ v")


DIRECTIONAL_IDS = ["mlp-arg0", "logistic_loss-arg0", "loop_over_rows-arg0",
                   "accumulate_rows-arg0", "broadcast_mean-arg0", "softmax_dot-arg0"]


@pytest.mark.parametrize("name", quick_every(DIRECTIONAL_IDS, 3))
def test_hvp_matches_directional_fd_of_gradient(name):
    # An FD reference that does not go through a Hessian: (g(x + h v) - g(x - h v)) / 2h.
    k = HESSIAN_IDS.index(name)
    case, i = HESSIAN_CASES[k]
    rng = np.random.default_rng(4000 + k)
    x = case.args[i]
    v = rng.normal(size=x.shape)
    g = sourcediff.grad(case.fn, wrt=i)

    def along(t):
        return g(*[x + t * v if j == i else a for j, a in enumerate(case.args)])

    h = 1e-5
    expected = (along(h) - along(-h)) / (2.0 * h)
    assert_array_close(sourcediff.hvp(case.fn, wrt=i)(*case.args, v), expected, rtol=1e-5,
                       what="hvp vs directional FD")


# --------------------------------------------------------------------------------------------
# 4. grad(grad(f)) against hand-derived second derivatives
# --------------------------------------------------------------------------------------------

# (id, function, extra arguments after x, x, f'(x), f''(x))
SECOND_DERIVATIVES = [
    ("poly", hf.poly, (), 0.7,
     lambda x: 12 * x**3 - 6 * x**2 + 1, lambda x: 36 * x**2 - 12 * x),
    ("poly-negative", hf.poly, (), -1.3,
     lambda x: 12 * x**3 - 6 * x**2 + 1, lambda x: 36 * x**2 - 12 * x),
    ("sin_exp", hf.sin_exp, (), 0.4,
     lambda x: (math.sin(x) + math.cos(x)) * math.exp(x),
     lambda x: 2 * math.cos(x) * math.exp(x)),
    ("x_log_x", hf.x_log_x, (), 2.5, lambda x: math.log(x) + 1, lambda x: 1 / x),
    ("loop_power-5", hf.loop_power, (5,), 1.3, lambda x: 5 * x**4, lambda x: 20 * x**3),
    ("loop_power-2", hf.loop_power, (2,), -0.7, lambda x: 2 * x, lambda x: 2.0),
    ("loop_power-1", hf.loop_power, (1,), 0.7, lambda x: 1.0, lambda x: 0.0),
    ("branchy-cubic", hf.branchy, (), 1.6, lambda x: 3 * x * x - 1, lambda x: 6 * x),
    ("branchy-quadratic", hf.branchy, (), 0.3, lambda x: 4 * x + 3, lambda x: 4.0),
    ("while_halving", hf.while_halving, (), 5.0, lambda x: x / 32, lambda x: 1 / 32),
    ("calls_cube", hf.calls_cube, (), 0.8, lambda x: 3 * x * x, lambda x: 6 * x),
    ("calls_cube_of_sin", hf.calls_cube_of_sin, (), 0.6,
     lambda x: 3 * math.sin(x) ** 2 * math.cos(x),
     lambda x: 6 * math.sin(x) * math.cos(x) ** 2 - 3 * math.sin(x) ** 3),
    ("calls_cube_and_uses_x", hf.calls_cube_and_uses_x, (), 0.8,
     lambda x: 4 * x**3, lambda x: 12 * x**2),
    ("nested_range_loops", hf.nested_range_loops, (), 0.7, lambda x: 18 * x, lambda x: 18.0),
    ("calls_range_loop_helper", hf.calls_range_loop_helper, (), 0.6,
     lambda x: 18 * x * x, lambda x: 36 * x),
    ("recursive_square", hf.recursive_square, (2,), 0.9,
     lambda x: 4 * x**3, lambda x: 12 * x**2),
]
SECOND_IDS = [c[0] for c in SECOND_DERIVATIVES]


@pytest.mark.parametrize("name, fn, extra, x, d1, d2",
                         quick_every(SECOND_DERIVATIVES, 7, unpack=True), ids=SECOND_IDS)
def test_grad_of_grad_closed_form(name, fn, extra, x, d1, d2):
    df = sourcediff.grad(fn)
    assert_close(df(x, *extra), float(d1(x)), rtol=1e-12, atol=1e-12, path=f"{name}'")
    assert_close(sourcediff.grad(df)(x, *extra), float(d2(x)), rtol=1e-12, atol=1e-12,
                 path=f"{name}''")


@pytest.mark.parametrize("name, fn, extra, x, d1, d2",
                         quick_every(SECOND_DERIVATIVES, 14, unpack=True), ids=SECOND_IDS)
def test_second_derivative_all_routes_agree(name, fn, extra, x, d1, d2):
    expected = float(d2(x))
    # explicit forward mode on the outer level, hessian, hvp, jvp of the gradient
    outer_forward = sourcediff.grad(sourcediff.grad(fn), mode="forward")(x, *extra)
    assert_close(outer_forward, expected, rtol=1e-12, atol=1e-12, path="grad(grad, forward)")
    assert_array_close(sourcediff.hessian(fn)(x, *extra), expected, rtol=1e-12,
                       what="hessian")
    assert_close(sourcediff.hvp(fn)(x, *extra, 2.0), 2.0 * expected, rtol=1e-12, atol=1e-12,
                 path="hvp")
    slope, curvature = sourcediff.jvp(sourcediff.grad(fn))(x, *extra, -1.5)
    assert_close(slope, float(d1(x)), rtol=1e-12, atol=1e-12, path="jvp(grad) value")
    assert_close(curvature, -1.5 * expected, rtol=1e-12, atol=1e-12, path="jvp(grad) tangent")


@pytest.mark.quick
def test_grad_of_grad_value_and_grad():
    x = 0.9
    value, second = sourcediff.value_and_grad(sourcediff.grad(hf.poly))(x)
    assert_close(value, 12 * x**3 - 6 * x**2 + 1, rtol=1e-12, atol=1e-12)
    assert_close(second, 36 * x**2 - 12 * x, rtol=1e-12, atol=1e-12)


@pytest.mark.quick
def test_grad_of_forward_mode_grad():
    # The inner gradient in forward mode: the outer level differentiates that instead.
    x = 0.7
    assert_close(sourcediff.grad(sourcediff.grad(hf.poly, mode="forward"))(x),
                 36 * x**2 - 12 * x, rtol=1e-10, atol=1e-10)


@pytest.mark.quick
def test_third_derivative():
    x = 0.7
    assert_close(sourcediff.grad(sourcediff.grad(sourcediff.grad(hf.poly)))(x), 72 * x - 12,
                 rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------------------------
# 5. Jacobians of vector-valued functions, both modes, against finite differences
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("k", quick_every(range(len(VECTOR_CASES)), 3), ids=VECTOR_IDS)
def test_jacobian_matches_fd(k, mode):
    fn, args, wrt = VECTOR_CASES[k]
    J = sourcediff.jacobian(fn, wrt=wrt, mode=mode)(*args)
    expected = fd_jacobian(fn, args, wrt)
    if isinstance(wrt, tuple):
        assert isinstance(J, tuple) and len(J) == len(expected)
    else:
        J, expected = (J,), (expected,)
    for block, ref in zip(J, expected):
        assert isinstance(block, np.ndarray)
        assert_array_close(block, ref, rtol=1e-6, atol=1e-7, what=f"{mode} jacobian")


@pytest.mark.quick
def test_jacobian_closed_forms():
    A = _normal(2, 3)
    x = _normal(3)
    for mode in ("reverse", "forward"):
        JA, Jx = sourcediff.jacobian(hf.matvec, wrt=(0, 1), mode=mode)(A, x)
        # d(Ax)_i / dA_jk = delta_ij x_k; d(Ax)/dx = A
        expected_A = np.einsum("ij,k->ijk", np.eye(2), x)
        assert_array_close(JA, expected_A, rtol=1e-14, what=f"{mode} dA")
        assert_array_close(Jx, A, rtol=1e-14, what=f"{mode} dx")

        y = np.array([0.3, -1.2, 2.0, 0.7])
        # horner_vec: y -> ((2y - 1) y + 0.5) y + 3, derivative 6 y^2 - 2 y + 0.5 on the diagonal
        J = sourcediff.jacobian(hf.horner_vec, mode=mode)(y)
        assert_array_close(J, np.diag(6 * y**2 - 2 * y + 0.5), rtol=1e-14, what="horner")

        # sin_exp_vec: derivative (cos y - 0.5 sin y) e^(-y/2) on the diagonal
        J = sourcediff.jacobian(hf.sin_exp_vec, mode=mode)(y)
        assert_array_close(J, np.diag((np.cos(y) - 0.5 * np.sin(y)) * np.exp(-0.5 * y)),
                           rtol=1e-14, what="sin_exp_vec")

        # softmax: diag(p) - p p^T
        p = np.exp(y) / np.sum(np.exp(y))
        J = sourcediff.jacobian(hf.softmax, mode=mode)(y)
        assert_array_close(J, np.diag(p) - np.outer(p, p), rtol=1e-14, what="softmax")


@pytest.mark.quick
def test_jacobian_of_gradient_is_hessian():
    x = np.array([0.5, -1.0, 2.0])
    for mode in ("reverse", "forward"):
        J = sourcediff.jacobian(sourcediff.grad(hf.cube_sum), mode=mode)(x)
        assert_array_close(J, np.diag(2 * x), rtol=1e-14, what=f"{mode} jacobian(grad)")


@pytest.mark.quick
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_and_hessian_keep_float32(mode):
    """float32 in, float32 out (as grad does); float64 when the computation is float64."""
    y = np.array([0.3, -1.2, 2.0, 0.7], dtype=np.float32)
    J = sourcediff.jacobian(hf.sin_exp_vec, mode=mode)(y)
    assert J.dtype == np.float32 and J.shape == (4, 4)
    y64 = y.astype(np.float64)
    expected = np.diag((np.cos(y64) - 0.5 * np.sin(y64)) * np.exp(-0.5 * y64))
    assert_array_close(J, expected, rtol=1e-5, what=f"{mode} float32 jacobian")
    assert sourcediff.jacobian(hf.sin_exp_vec, mode=mode)(y64).dtype == np.float64
    # the output is float64 (A is): so is the Jacobian, for the float32 input too
    A = _normal(2, 4)
    JA, Jy = sourcediff.jacobian(hf.matvec, wrt=(0, 1), mode=mode)(A, y)
    assert (JA.dtype, Jy.dtype) == (np.float64, np.float64)
    assert_array_close(Jy, A, rtol=1e-6, what=f"{mode} mixed precision")
    if mode == "reverse":
        H = sourcediff.hessian(hf.cube_sum)(y)
        assert H.dtype == np.float32
        assert_array_close(H, np.diag(2 * y64), rtol=1e-6, what="float32 hessian")


# --------------------------------------------------------------------------------------------
# 6. jvp of grad, and differentiating user code that calls generated derivatives
# --------------------------------------------------------------------------------------------


@pytest.mark.quick
def test_jvp_of_grad_array_closed_forms():
    x = np.array([0.5, -1.0, 2.0])
    v = np.array([1.0, 2.0, -0.5])
    g, hv = sourcediff.jvp(sourcediff.grad(hf.cube_sum))(x, v)
    assert_close(g, x**2, rtol=1e-14, atol=1e-14)
    assert_close(hv, 2 * x * v, rtol=1e-14, atol=1e-14)

    A = _normal(3, 3)
    S = 0.5 * (A + A.T)
    g, hv = sourcediff.jvp(sourcediff.grad(hf.half_quadratic, wrt=1), wrt=1)(A, x, v)
    assert_close(g, S @ x, rtol=1e-13, atol=1e-13)
    assert_close(hv, S @ v, rtol=1e-13, atol=1e-13)

    t = 0.8
    g, hv = sourcediff.jvp(sourcediff.grad(hf.sin_sum_scaled))(x, t, v)
    assert_close(g, t * np.cos(t * x), rtol=1e-13, atol=1e-13)
    assert_close(hv, -t * t * np.sin(t * x) * v, rtol=1e-13, atol=1e-13)


def test_jvp_of_grad_mixed_partials():
    # f = sum(sin(t x)); d/dt of grad_x = cos(t x) - t x sin(t x);
    # d/dx of grad_t = sum(x cos(t x)) along v: sum(v (cos(t x) - t x sin(t x)))
    x = np.array([0.5, -1.0, 2.0])
    v = np.array([1.0, 2.0, -0.5])
    t = 0.8
    mixed = np.cos(t * x) - t * x * np.sin(t * x)
    g, dg = sourcediff.jvp(sourcediff.grad(hf.sin_sum_scaled, wrt=0), wrt=1)(x, t, 1.0)
    assert_close(g, t * np.cos(t * x), rtol=1e-13, atol=1e-13)
    assert_close(dg, mixed, rtol=1e-13, atol=1e-13)

    g, dg = sourcediff.jvp(sourcediff.grad(hf.sin_sum_scaled, wrt=1), wrt=0)(x, t, v)
    assert_close(g, float(np.sum(x * np.cos(t * x))), rtol=1e-13, atol=1e-13)
    assert_close(dg, float(np.sum(v * mixed)), rtol=1e-13, atol=1e-13)

    # second derivative in t: -sum(x^2 sin(t x))
    g, dg = sourcediff.jvp(sourcediff.grad(hf.sin_sum_scaled, wrt=1), wrt=1)(x, t, 1.0)
    assert_close(dg, float(-np.sum(x * x * np.sin(t * x))), rtol=1e-13, atol=1e-13)


def _poly_d1(x):
    return 12 * x**3 - 6 * x**2 + 1


def _poly_d2(x):
    return 36 * x**2 - 12 * x


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.quick
def test_grad_of_user_function_calling_a_derivative(mode):
    x = 0.7
    # h = f'(x) x: h' = f''(x) x + f'(x)
    assert_close(sourcediff.grad(hf.poly_slope_times_x, mode=mode)(x),
                 _poly_d2(x) * x + _poly_d1(x), rtol=1e-12, atol=1e-12)

    # h = sin(f'(x)), f = sin(x) e^x: h' = cos(f'(x)) f''(x)
    y = 0.4
    d1 = (math.sin(y) + math.cos(y)) * math.exp(y)
    d2 = 2 * math.cos(y) * math.exp(y)
    assert_close(sourcediff.grad(hf.sin_of_slope, mode=mode)(y), math.cos(d1) * d2,
                 rtol=1e-12, atol=1e-12)

    # array: sum(grad(cube_sum)(x) * x) = sum(x^3): gradient 3 x^2
    xa = np.array([0.5, -1.0, 2.0])
    assert_close(sourcediff.grad(hf.cube_sum_grad_dot_x, mode=mode)(xa), 3 * xa**2,
                 rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_of_user_function_calling_a_jvp(mode):
    # h = f'(x)^2 with f'(x) taken as the jvp tangent of f = sin(x) e^x along 1.0:
    # h' = 2 f'(x) f''(x)
    y = 0.4
    d1 = (math.sin(y) + math.cos(y)) * math.exp(y)
    d2 = 2 * math.cos(y) * math.exp(y)
    assert_close(sourcediff.grad(hf.squared_tangent, mode=mode)(y), 2 * d1 * d2, rtol=1e-12,
                 atol=1e-12)


@pytest.mark.quick
def test_jvp_and_jacobian_of_user_function_calling_a_derivative():
    x = 0.7
    value, tangent = sourcediff.jvp(hf.poly_slope_times_x)(x, 2.0)
    assert_close(value, _poly_d1(x) * x, rtol=1e-12, atol=1e-12)
    assert_close(tangent, 2.0 * (_poly_d2(x) * x + _poly_d1(x)), rtol=1e-12, atol=1e-12)

    xa = np.array([0.5, -1.0, 2.0])
    for mode in ("reverse", "forward"):
        J = sourcediff.jacobian(hf.scaled_cube_sum_grad, mode=mode)(xa)
        assert_array_close(J, np.diag(4 * xa), rtol=1e-14, what=f"{mode} jacobian")


@pytest.mark.quick
def test_hessian_of_user_function_calling_a_derivative_is_refused_at_its_line():
    """The call to the derivative `d_poly` inside would be differentiated twice (hessian is
    forward over reverse): refused in the user's terms, at the call's line (the first
    derivatives of the same function are checked above)."""
    with pytest.raises(SourceDiffError) as info:
        sourcediff.hessian(hf.poly_slope_times_x)(0.7)
    exc = info.value
    assert exc.filename.endswith("higher_funcs.py"), str(exc)
    assert "d_poly(x)" in str(exc) and "a second time" in str(exc)


@pytest.mark.quick
def test_vjp_of_a_derivative_is_a_clear_error():
    with pytest.raises(SourceDiffError, match="vjp"):
        sourcediff.vjp(sourcediff.grad(hf.poly))




def test_second_derivatives_through_a_steep_zero():
    """Where every element is clipped these functions are constant (gradient and Hessian 0,
    worked out by hand), though a cbrt and a sqrt sit at their infinite-partial points. The
    gradient keeps the exact zeros (they win over the infinite partials, through the matmul's
    adjoint too), and so do the Hessians (one basis direction at a time); an hvp along a
    mixed direction that sums infinite terms of both signs raises a DomainError at the
    function, never returns nan."""
    x = np.array([-0.909191, -0.582207, -0.976183])
    v = np.array([-1.0, 0.0, 1.0])
    f, g = hf.steep_zero_through_matmul, hf.steep_zero_under_a_product
    for fn in (f, g):
        assert np.array_equal(sourcediff.grad(fn)(x), np.zeros(3))
        assert np.array_equal(sourcediff.hessian(fn)(x), np.zeros((3, 3)))
    assert np.array_equal(sourcediff.hvp(f)(x, v), np.zeros(3))
    with pytest.raises(sourcediff.DomainError, match="second derivative") as info:
        sourcediff.hvp(g)(x, v)
    assert info.value.filename.endswith("higher_funcs.py")
