"""Custom rules, stop_gradient, nondifferentiable and check_grads."""

import extending_funcs as ef
import numpy as np
import pytest
from fd import assert_close, central_fd

import sourcediff

X = np.array([0.3, -0.7, 1.1])
MODES = ("reverse", "forward")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_registered_rules_are_used(mode):
    # d/dx sum(softplus(x) * x) = sigmoid(x) * x + softplus(x), worked out by hand
    sigmoid = 1.0 / (1.0 + np.exp(-X))
    expected = sigmoid * X + np.log1p(np.exp(X))
    assert_close(sourcediff.grad(ef.uses_softplus, mode=mode)(X), expected)
    assert "softplus" in sourcediff.grad(ef.uses_softplus, mode=mode).source


@pytest.mark.quick
def test_check_grads_passes_a_correct_rule():
    sourcediff.check_grads(ef.uses_softplus, (X,))


@pytest.mark.quick
def test_check_grads_catches_a_wrong_rule():
    with pytest.raises(AssertionError, match="disagree with finite differences") as info:
        sourcediff.check_grads(ef.uses_badsquare, (X,))
    assert "reverse mode" in str(info.value) and "forward mode" in str(info.value)


@pytest.mark.quick
def test_check_grads_on_a_dict_of_parameters():
    rng = np.random.default_rng(3)
    p = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    sourcediff.check_grads(ef.dict_model, (p, X))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_stop_gradient_blocks_the_derivative(mode):
    # blocked(x, y) = c * x + y with c = x * y held constant: d/dx = x * y, d/dy = 1
    gx, gy = sourcediff.grad(ef.blocked, wrt=(0, 1), mode=mode)(0.5, 2.0)
    assert gx == pytest.approx(1.0)
    assert gy == pytest.approx(1.0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_argmax_is_nondifferentiable_but_indexing_is(mode):
    expected = np.zeros(3)
    expected[np.argmax(X)] = 2.0
    assert_close(sourcediff.grad(ef.noisy_argmax, mode=mode)(X), expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_declared_nondifferentiable_function(mode):
    x = 1.7
    assert sourcediff.grad(ef.uses_declared, mode=mode)(x) == pytest.approx(2 * x)
    assert_close(sourcediff.grad(ef.uses_declared, mode=mode)(x),
                 central_fd(lambda v: v * v, (x,), 0))
