"""Nested derivatives (issue: composition): functions that call grad, jvp, hessian, hvp and
jacobian derivatives, differentiated in reverse mode (reverse over reverse) and forward mode
(forward over reverse), optimized and not, against central differences of the outer function
(which runs the inner derivative exactly) and closed forms where there are ones."""

import nesting_funcs as nf
import numpy as np
import pytest
from conftest import quick_every
from fd import assert_close, central_fd

import sourcediff

X3 = np.array([0.3, -0.7, 1.1])

CASES = [
    ("confusion", nf.confusion, (2.0,), 0),
    ("confusion_forward_inner", nf.confusion_forward_inner, (2.0,), 0),
    ("confusion_jvp_inner", nf.confusion_jvp_inner, (2.0,), 0),
    ("confusion_product", nf.confusion_product, (1.5,), 0),
    ("confusion_inner_at_x", nf.confusion_inner_at_x, (1.5,), 0),
    ("meta_step_size", nf.meta_step_size, (0.05, X3), 0),
    ("meta_step_size_wrt_data", nf.meta_step_size, (0.05, X3), 1),
    ("meta_step_size_forward_inner", nf.meta_step_size_forward_inner, (0.05, X3), 0),
    ("newton_with_hessian", nf.newton_with_hessian, (X3,), 0),
    ("newton_with_jacobian_of_gradient", nf.newton_with_jacobian_of_gradient, (X3,), 0),
    ("hessian_free_newton", nf.hessian_free_newton, (X3,), 0),
    ("descend_with_passed_derivative", nf.descend_with_passed_derivative, (X3,), 0),
    ("fixed_point_while", nf.fixed_point_while, (X3,), 0),
    ("ascent_with_a_local_derivative", nf.ascent_with_a_local_derivative, (0.4,), 0),
    ("trajectory_end", nf.trajectory_end, (0.7,), 0),
    ("directional_slope", nf.directional_slope, (X3,), 0),
]
IDS = [c[0] for c in CASES]
MODES = ("reverse", "forward")

CLOSED_FORMS = {
    "confusion": lambda x: 1.0,
    "confusion_forward_inner": lambda x: 1.0,
    "confusion_jvp_inner": lambda x: 1.0,
    "confusion_product": lambda x: 2.0 * x,
    "confusion_inner_at_x": lambda x: 2.0 * x,
}


def _fd(fn, args, i):
    return central_fd(fn, list(args), wrt=i)


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", quick_every(CASES, 4), ids=IDS)
def test_nested_derivative_matches_fd(case, mode, optimize):
    name, fn, args, i = case
    got = sourcediff.grad(fn, wrt=i, mode=mode, optimize=optimize)(*args)
    assert_close(got, _fd(fn, args, i), rtol=1e-6, atol=1e-8)


@pytest.mark.quick
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_no_perturbation_confusion(name, mode):
    fn = getattr(nf, name)
    for x in (0.5, 2.0, -1.25):
        got = sourcediff.grad(fn, mode=mode)(x)
        assert abs(got - CLOSED_FORMS[name](x)) <= 1e-12


@pytest.mark.parametrize("mode", MODES)
def test_value_and_grad_of_a_nested_function(mode):
    value, g = sourcediff.value_and_grad(nf.meta_step_size, mode=mode)(0.05, X3)
    assert value == pytest.approx(nf.meta_step_size(0.05, X3), rel=1e-14)
    assert_close(g, _fd(nf.meta_step_size, (0.05, X3), 0), rtol=1e-6, atol=1e-8)


def test_jvp_and_vjp_of_a_nested_function():
    """jvp and vjp of a function calling a derivative agree with each other and with FD."""
    v = np.array([0.2, 0.1, -0.4])
    _, tangent = sourcediff.jvp(nf.newton_with_hessian)(X3, v)
    _, cot = sourcediff.vjp(nf.newton_with_hessian)(X3, 1.0)
    expected = _fd(nf.newton_with_hessian, (X3,), 0)
    assert_close(cot, expected, rtol=1e-6, atol=1e-8)
    assert tangent == pytest.approx(float(np.dot(expected, v)), rel=1e-6, abs=1e-8)


# ---- the top-level combinations: grad(grad), jvp(grad), grad(jvp), jacobian(grad)


def _bowl_hessian(w):
    # quadratic_bowl = sum((w - 2)^2) + 0.01 sum(w^4): H = diag(2 + 0.12 w^2)
    return np.diag(2.0 + 0.12 * w ** 2)


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_of_a_gradient_is_the_hessian(mode):
    J = sourcediff.jacobian(sourcediff.grad(nf.quadratic_bowl), mode=mode)(X3)
    assert_close(J, _bowl_hessian(X3), rtol=1e-12)


def test_jvp_of_grad_and_grad_of_jvp():
    v = np.array([1.0, -2.0, 0.5])
    _, hv = sourcediff.jvp(sourcediff.grad(nf.quadratic_bowl))(X3, v)
    assert_close(hv, _bowl_hessian(X3) @ v, rtol=1e-12)
    # grad of w -> <grad f(w), v> (a jvp) is H v
    slope = sourcediff.jvp(nf.quadratic_bowl)

    def directional(w):
        return slope(w, v)[1]

    for mode in MODES:
        assert_close(sourcediff.grad(directional, mode=mode)(X3), _bowl_hessian(X3) @ v,
                     rtol=1e-12)


def test_third_derivative_and_the_order_limit():
    # f = x^4: f''' = 24 x
    third = sourcediff.grad(sourcediff.grad(sourcediff.grad(lambda x: x ** 4)))
    assert third(0.7) == pytest.approx(24 * 0.7, rel=1e-12)
    with pytest.raises(sourcediff.SourceDiffError, match="fourth and higher"):
        sourcediff.grad(third)


def test_a_call_differentiated_twice_through_a_derivative_is_refused():
    """A function that calls a derivative is differentiated once; differentiating its gradient
    again is refused at the user's line, not silently wrong."""
    slope = sourcediff.grad(nf.trajectory_end)
    with pytest.raises(sourcediff.SourceDiffError) as info:
        sourcediff.grad(slope, mode="forward")(0.7)
    assert info.value.filename.endswith("nesting_funcs.py")


def test_a_derivative_of_a_closure_made_inside_is_refused_with_the_line():
    """`sd.grad(f)` of a lambda that closes over the outer function's differentiated values
    would treat those values as constants: refused, naming the line."""
    with pytest.raises(sourcediff.SourceDiffError) as info:
        sourcediff.grad(nf.descend_with_a_lambda, wrt=(0, 1))(X3, 0.4)
    assert info.value.filename.endswith("nesting_funcs.py")
    assert "used as a value" in str(info.value)
