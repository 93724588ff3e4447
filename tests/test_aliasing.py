"""NumPy's in-place semantics (tests/corpus_aliasing.py) against central finite differences.

Each case runs in both modes, optimized and not; the derivative must leave its arguments as
they were, `value_and_grad`'s value must be the function's, and second derivatives (forward
over reverse) must agree with finite differences of the gradient.
"""

import copy
import inspect
import os

import numpy as np
import pytest
from conftest import quick_every
from corpus_aliasing import CASES, REFUSED
from fd import assert_close, case_ids, central_fd, reference_gradient

MODES = ("reverse", "forward")
IDS = case_ids(CASES)


def _fresh(args):
    return copy.deepcopy(args)


def _unchanged(args, before):
    for a, b in zip(args, before, strict=True):
        assert_close(a, b, rtol=0, atol=0, path="argument")


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", quick_every(CASES, 10), ids=IDS)
def test_grad_matches_fd(sd, case, mode, optimize):
    args = _fresh(case.args)
    g = sd.grad(case.fn, wrt=case.wrt, mode=mode, optimize=optimize)(*args)
    assert_close(g, reference_gradient(case))
    _unchanged(args, case.args)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", quick_every(CASES, 12), ids=IDS)
def test_value_is_the_functions(sd, case, mode):
    args = _fresh(case.args)
    value, _ = sd.value_and_grad(case.fn, wrt=case.wrt, mode=mode)(*args)
    assert value == case.fn(*_fresh(case.args))
    _unchanged(args, case.args)


@pytest.mark.parametrize("case", quick_every(CASES, 12), ids=IDS)
def test_case_is_smooth(case):
    """The reference is sound: a five-point stencil of step 1e-3 agrees with it."""
    coarse = central_fd(case.fn, case.args, case.wrt, step=1e-3, order=4)
    assert_close(reference_gradient(case), coarse, rtol=1e-7, atol=1e-8)


SECOND = [c for c in CASES if isinstance(c.wrt, int) and isinstance(c.args[c.wrt], np.ndarray)]
# a helper that writes into its argument: its adjoint sweep restores the caller's array in
# place, which forward mode over that code cannot follow, so second derivatives are refused
IN_PLACE_HELPERS = {"helper_normalizes_in_place", "helper_result_and_argument",
                    "helper_writes_element", "helper_with_a_reserved_parameter_name_wrt_x",
                    # the restore of a container argument (its slots and the arrays in them)
                    "helper_writes_an_array_inside_a_list",
                    "helper_writes_an_array_inside_a_dict",
                    "helper_doubles_a_held_array_read_later",
                    "helper_replaces_a_slot_whose_old_value_is_read",
                    "helper_writes_a_parameter_held_by_a_fresh_list",
                    "helper_writes_a_parameter_held_by_a_nested_list"}
REFUSED_SECOND = [c for c in SECOND if c.name in IN_PLACE_HELPERS]
SECOND = [c for c in SECOND if c.name not in IN_PLACE_HELPERS]


@pytest.mark.parametrize("case", REFUSED_SECOND, ids=case_ids(REFUSED_SECOND))
def test_second_derivative_through_a_helper_writing_its_argument_is_refused(sd, case):
    """Refused at the call's line, naming the helper (first derivatives are tested above)."""
    assert len(REFUSED_SECOND) == len(IN_PLACE_HELPERS)
    with pytest.raises(sd.SourceDiffError) as info:
        sd.hessian(case.fn, wrt=case.wrt)(*_fresh(case.args))
    assert info.value.filename.endswith("corpus_aliasing.py")
    assert "writes into its argument" in str(info.value)


@pytest.mark.parametrize("case", quick_every(SECOND, 20), ids=case_ids(SECOND))
def test_hessian_matches_fd_of_gradient(sd, case):
    """Forward over reverse through the alias updates and restores of the generated code."""
    args = _fresh(case.args)
    hessian = sd.hessian(case.fn, wrt=case.wrt)(*args)
    gradient = sd.grad(case.fn, wrt=case.wrt)

    def component(*a, k):
        return float(np.ravel(gradient(*_fresh(a)))[k])

    x = case.args[case.wrt]
    expected = np.stack([central_fd(lambda *a, k=k: component(*a, k=k), case.args, case.wrt)
                         for k in range(x.size)]).reshape(x.shape + x.shape)
    assert_close(hessian, expected, rtol=1e-5, atol=1e-5)
    _unchanged(args, case.args)


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
def test_mixed_second_derivative_through_a_plain_call_that_writes_a_viewed_argument(sd, optimize):
    """d/da of grad_x f, where `a` is not differentiated in the gradient, so the helper that
    writes into it is called plainly and the adjoint sweep puts `a` back; forward mode over the
    gradient must carry `a`'s tangent (and its view's) through that restore."""
    from corpus_aliasing import helper_writes_an_inactive_argument_after_a_view as f
    x, a = np.array([0.7, -0.2, 0.4]), np.array([-0.5, 0.8, -1.4])
    gradient = sd.grad(f, wrt=0, optimize=optimize)
    mixed = sd.jacobian(gradient, wrt=1)(x.copy(), a.copy())
    expected = np.stack([central_fd(lambda x_, a_, k=k: float(gradient(x_, a_.copy())[k]),
                                    (x, a), 1) for k in range(x.size)])
    assert_close(mixed, expected, rtol=1e-6, atol=1e-8)


def _marker_line(fn):
    lines, start = inspect.getsourcelines(fn)
    marked = [start + k for k, line in enumerate(lines) if "# refused" in line]
    assert len(marked) == 1, f"{fn.__name__} needs exactly one `# refused` marker"
    return marked[0]


@pytest.mark.quick
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn, args", REFUSED, ids=[fn.__name__ for fn, _ in REFUSED])
def test_what_stays_refused_names_the_line(sd, fn, args, mode):
    with pytest.raises(sd.SourceDiffError) as info:
        sd.grad(fn, mode=mode)(*_fresh(args))
    exc = info.value
    assert exc.lineno == _marker_line(fn), str(exc)
    assert os.path.samefile(exc.filename, inspect.getsourcefile(fn)), exc.filename
    assert exc.hint, str(exc)


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_the_value_is_the_final_one_when_the_sweep_restores_what_it_views(sd, mode, optimize):
    """value_and_grad and vjp return the primal's value (b[0] = 0.1 * -1.5 = -0.15, value
    -0.15 + 0.0225) although the adjoint sweep writes the argument's old values back."""
    from corpus_aliasing import returns_a_view_of_a_written_argument as f

    def fresh():
        return {"b": np.array([0.1, -1.4])}

    value, g = sd.value_and_grad(f, mode=mode, optimize=optimize)(fresh())
    assert value == pytest.approx(-0.15 + 0.0225, rel=1e-14)
    # d/db0 of (s b0 + (s b0)^2) with s = -1.5: s + 2 s^2 b0 = -1.5 + 0.45
    np.testing.assert_allclose(g["b"], [-1.5 + 2 * 2.25 * 0.1, 0.0], rtol=1e-13)
    if mode == "reverse":
        out, _ = sd.vjp(f, optimize=optimize)(fresh(), 1.0)
        assert out == pytest.approx(-0.15 + 0.0225, rel=1e-14)


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
@pytest.mark.parametrize("tangent_as", ["record", "fields"])
def test_jvp_with_a_record_tangent_through_a_field_written_in_place(sd, optimize, tangent_as):
    """The tangent of a dataclass argument given as an instance (or a dict of its fields)
    keeps every field's tangent where the write through `p.b` updates one of them; checked
    against a central difference along the tangent (found with fuzzer 501:1143)."""
    from corpus_aliasing import Params
    from corpus_aliasing import field_written_then_read as f

    b0 = np.array([0.18, -0.6, 0.4])
    v = Params(0.7, np.array([1.0, 2.0, -3.0]))
    tangent = v if tangent_as == "record" else {"a": v.a, "b": v.b}
    args = (Params(1.5, b0.copy()),)
    _, t = sd.jvp(f, optimize=optimize)(*args, tangent)
    h = 1e-6
    expected = (f(Params(1.5 + h * v.a, b0 + h * v.b))
                - f(Params(1.5 - h * v.a, b0 - h * v.b))) / (2 * h)
    assert t == pytest.approx(expected, rel=1e-7)
    np.testing.assert_array_equal(args[0].b, b0)
