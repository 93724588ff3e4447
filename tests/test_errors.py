"""sourcediff refuses what it cannot differentiate with a SourceDiffError that names the user's
file and absolute line, shows that line and gives a hint; and no internal exception of the
compiler ever escapes for plausible user code.

The functions refused live in tests/bad_inputs.py; each offending line there carries a marker
comment ``# BAD: <name>`` from which the expected line number is computed.
"""

import math
import operator
import os
import re
import traceback

import api_funcs
import bad_inputs
import numpy as np
import pytest
from conftest import quick_every
from fd import assert_close, central_fd

import sourcediff
from sourcediff import (
    MissingRuleError,
    NonScalarOutputError,
    NoSourceError,
    SourceDiffError,
    UnsupportedSyntaxError,
    WrtError,
)

MODES = ("reverse", "forward")
BAD_FILE = bad_inputs.__file__
with open(BAD_FILE, encoding="utf-8") as _fh:
    BAD_LINES = _fh.read().splitlines()


def marker_line(name):
    """The 1-based line of bad_inputs.py carrying the comment ``# BAD: name``."""
    pattern = re.compile(r"#\s*BAD:\s*" + re.escape(name) + r"(?!\w)")
    found = [i + 1 for i, text in enumerate(BAD_LINES) if pattern.search(text)]
    assert len(found) == 1, f"expected exactly one marker for {name!r}, found lines {found}"
    return found[0]


def assert_points_at(exc, name, show_line=True):
    """`exc` names bad_inputs.py:<marker line>, shows that line, and carries a hint."""
    line = marker_line(name)
    message = str(exc)
    assert isinstance(exc, SourceDiffError)
    assert f"bad_inputs.py:{line}:" in message, (
        f"expected the message to name bad_inputs.py:{line}, got:\n{message}")
    assert exc.lineno == line, f"exc.lineno is {exc.lineno}, expected {line}"
    assert exc.filename is not None and exc.filename.endswith("bad_inputs.py")
    if show_line:
        text = BAD_LINES[line - 1].strip()
        assert text in message, f"expected the offending line {text!r} in:\n{message}"
    assert "hint:" in message and exc.hint, f"expected a hint in:\n{message}"
    # the message describes the problem itself, not just the location
    assert exc.reason and exc.reason.strip()


# name of the function in bad_inputs, arguments, the SourceDiffError subclass expected
SYNTAX = [
    ("gen_yield", (1.5,), UnsupportedSyntaxError),
    ("try_except", (1.5,), UnsupportedSyntaxError),
    ("try_finally", (1.5,), UnsupportedSyntaxError),
    ("global_write", (1.5,), UnsupportedSyntaxError),
    ("nonlocal_write", (1.5,), UnsupportedSyntaxError),
    ("class_inside", (1.5,), UnsupportedSyntaxError),
    ("async_def", (1.5,), UnsupportedSyntaxError),
    ("with_block", (1.5,), UnsupportedSyntaxError),
    ("star_args", (1.5,), UnsupportedSyntaxError),
    ("star_kwargs", (1.5,), UnsupportedSyntaxError),
    ("star_call", (1.5,), UnsupportedSyntaxError),
    ("indented_star_call", (1.5,), UnsupportedSyntaxError),
    ("wrapped_with_star_args", (1.5,), UnsupportedSyntaxError),
    ("kwargs_call", (1.5,), UnsupportedSyntaxError),
    ("nested_def", (1.5,), UnsupportedSyntaxError),
    ("walrus", (1.5,), UnsupportedSyntaxError),
    ("set_literal", (1.5,), UnsupportedSyntaxError),
    ("dict_comp", (1.5,), UnsupportedSyntaxError),
    ("set_comp", (1.5,), UnsupportedSyntaxError),
    ("del_statement", (1.5,), UnsupportedSyntaxError),
    ("import_inside", (1.5,), UnsupportedSyntaxError),
    ("import_from_inside", (1.5,), UnsupportedSyntaxError),
    ("for_else", (1.5,), UnsupportedSyntaxError),
    ("while_else", (1.5,), UnsupportedSyntaxError),
    ("attribute_write", (1.5,), UnsupportedSyntaxError),
    ("starred_unpack", (1.5,), UnsupportedSyntaxError),
    ("match_statement", (1.5,), UnsupportedSyntaxError),
    ("no_return", (1.5,), UnsupportedSyntaxError),
    ("no_rule_c_function", (1.5,), MissingRuleError),
    ("no_rule_numpy", (np.array([[2.0, 0.5], [0.5, 1.0]]),), MissingRuleError),
    ("no_rule_operator", (1.5,), MissingRuleError),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, args, cls", SYNTAX, ids=[s[0] for s in SYNTAX])
@pytest.mark.quick
def test_refused_construct_names_file_line_and_hint(name, args, cls, mode):
    func = getattr(bad_inputs, name)
    with pytest.raises(cls) as info:
        sourcediff.grad(func, mode=mode)(*args)
    assert_points_at(info.value, name)


@pytest.mark.parametrize("name", ["gen_yield", "try_except", "no_rule_c_function"])
@pytest.mark.quick
def test_refusal_is_repeated_not_cached_away(name):
    """Calling a refused derivative again (or asking for its source) refuses again."""
    func = getattr(bad_inputs, name)
    df = sourcediff.grad(func)
    for _ in range(2):
        with pytest.raises(SourceDiffError) as info:
            df(1.5)
        assert_points_at(info.value, name)
    with pytest.raises(SourceDiffError) as info:
        sourcediff.source(df)
    assert_points_at(info.value, name)


@pytest.mark.parametrize("kind", ["value_and_grad", "jvp", "vjp"])
@pytest.mark.quick
def test_other_transforms_refuse_with_the_same_location(kind):
    transform = getattr(sourcediff, kind)
    extra = {"value_and_grad": (), "jvp": (1.0,), "vjp": (1.0,)}[kind]
    with pytest.raises(UnsupportedSyntaxError) as info:
        transform(bad_inputs.try_except)(1.5, *extra)
    assert_points_at(info.value, "try_except")


# constructs refused at first and taught to sourcediff since: differentiated exactly
TAUGHT = [
    ("list_comp", (1.5,)),
    ("generator_expression", (1.5,)),
    ("subscript_write", (1.5,)),
    ("subscript_augassign", (1.5,)),
    ("side_effect_call", (1.5,)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, args", TAUGHT, ids=[c[0] for c in TAUGHT])
@pytest.mark.quick
def test_construct_once_refused_is_differentiated(name, args, mode):
    func = getattr(bad_inputs, name)
    got = sourcediff.grad(func, mode=mode)(*args)
    assert_close(got, central_fd(func, args), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["star_call", "indented_star_call"])
@pytest.mark.quick
def test_caret_points_into_the_line(name):
    """Where the column is known, a caret line follows the offending line, under the
    offending expression, also in an indented (nested) function."""
    with pytest.raises(UnsupportedSyntaxError) as info:
        sourcediff.grad(getattr(bad_inputs, name))(1.5)
    lines = str(info.value).splitlines()
    text = BAD_LINES[marker_line(name) - 1].strip()
    at = next(i for i, ln in enumerate(lines) if ln.strip() == text)
    caret = lines[at + 1]
    assert caret.strip() == "^"
    # the caret sits under the starred argument `*xs`
    col = caret.index("^") - (len(lines[at]) - len(lines[at].lstrip()))
    assert text[col:].startswith("*xs"), (text, col)


@pytest.mark.quick
def test_decorated_function_differentiates_what_runs():
    """functools.wraps sets __wrapped__; the derivative must be of the wrapper that runs
    (here it doubles the output), not of the undecorated function."""
    x = 1.5
    assert api_funcs.doubled_square(x) == 2.0 * x * x
    for mode in MODES:
        assert_close(sourcediff.grad(api_funcs.doubled_square, mode=mode)(x), 4.0 * x)
        assert_close(sourcediff.grad(api_funcs.passthrough_cube, mode=mode)(x), 3.0 * x * x)


# ---- errors in a callee point at the callee's line ----------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_unsupported_syntax_in_a_callee_names_the_callee_line(mode):
    with pytest.raises(UnsupportedSyntaxError) as info:
        sourcediff.grad(bad_inputs.calls_bad_callee, mode=mode)(1.5)
    assert_points_at(info.value, "_helper_with_try")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_missing_rule_in_a_callee_names_the_callee_line(mode):
    with pytest.raises(MissingRuleError) as info:
        sourcediff.grad(bad_inputs.calls_callee_without_rule, mode=mode)(1.5)
    assert_points_at(info.value, "_helper_no_rule")
    assert "lgamma" in str(info.value)


@pytest.mark.quick
def test_missing_rule_functions_really_have_no_rule():
    """The MissingRuleError cases rely on these C functions having no rule; if one gains a
    rule, pick another function for bad_inputs (and give the new rule an FD test)."""
    for func in (math.gamma, math.lgamma, np.linalg.eig, operator.itemgetter(0)):
        assert sourcediff.rules.lookup(func) is None


@pytest.mark.quick
def test_missing_rule_message_names_the_function():
    with pytest.raises(MissingRuleError) as info:
        sourcediff.grad(bad_inputs.no_rule_c_function)(1.5)
    assert "math.gamma" in str(info.value)
    with pytest.raises(MissingRuleError) as info:
        sourcediff.grad(bad_inputs.no_rule_numpy)(np.eye(2))
    assert "eig" in str(info.value)


# ---- non-scalar output --------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["grad", "value_and_grad"])
@pytest.mark.quick
def test_non_scalar_output_names_the_return_line(kind, mode):
    transform = getattr(sourcediff, kind)
    with pytest.raises(NonScalarOutputError) as info:
        transform(bad_inputs.non_scalar, mode=mode)(np.ones(3))
    assert_points_at(info.value, "non_scalar")
    assert "(3,)" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.quick
def test_non_scalar_output_names_the_return_taken(mode):
    """With two returns, the error names the one that produced the array."""
    df = sourcediff.grad(bad_inputs.non_scalar_branch, mode=mode)
    x = np.array([0.5, 1.5, 2.0])
    assert_close(df(x, True), np.ones(3))   # the scalar branch works: d sum(x) = 1
    with pytest.raises(NonScalarOutputError) as info:
        df(x, False)
    assert_points_at(info.value, "non_scalar_branch")


@pytest.mark.quick
def test_scalar_input_to_non_scalar_function_is_fine():
    """The same function is differentiable when its output is a scalar: y = 2x."""
    assert_close(sourcediff.grad(bad_inputs.non_scalar)(1.5), 2.0)


# ---- wrt ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("wrt", ["z", 2, -3, (0, "x"), 1.0, True, ("x", 5)])
@pytest.mark.quick
def test_bad_wrt_is_a_wrt_error_naming_the_def_line(wrt):
    with pytest.raises(WrtError) as info:
        sourcediff.grad(bad_inputs.two_params, wrt=wrt)(1.0, 2.0)
    message = str(info.value)
    line = marker_line("two_params")
    assert f"bad_inputs.py:{line}:" in message
    assert "wrt" in message
    assert "hint:" in message


@pytest.mark.quick
def test_bad_wrt_message_lists_the_parameters():
    with pytest.raises(WrtError) as info:
        sourcediff.grad(bad_inputs.two_params, wrt="z")
    assert "'z'" in str(info.value) and "x, y" in str(info.value)
    with pytest.raises(WrtError) as info:
        sourcediff.grad(bad_inputs.two_params, wrt=2)
    assert "2" in str(info.value) and "x, y" in str(info.value)


@pytest.mark.quick
def test_bad_wrt_shows_the_def_line():
    """Like every other error, a wrt error shows the line it names (the `def` line)."""
    with pytest.raises(WrtError) as info:
        sourcediff.grad(bad_inputs.two_params, wrt="z")
    assert_points_at(info.value, "two_params")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wrt, args", [
    (1, (2.0, 3)),                       # n is a Python int
    (0, (2, 3)),                         # x passed as an int
    (0, (np.int64(2), 3)),
    (0, (np.arange(3), 3)),              # integer array
    (0, (True, 3)),
])
@pytest.mark.quick
def test_differentiating_with_respect_to_an_int_is_a_wrt_error(wrt, args, mode):
    with pytest.raises(WrtError) as info:
        sourcediff.grad(bad_inputs.int_param, wrt=wrt, mode=mode)(*args)
    message = str(info.value)
    assert f"bad_inputs.py:{marker_line('int_param')}:" in message
    assert "hint:" in message
    name = "n" if wrt == 1 else "x"
    assert f"'{name}'" in message


@pytest.mark.quick
def test_int_argument_not_differentiated_is_fine():
    """d/dx x**n = n x**(n-1) with n an int that is not in wrt."""
    assert_close(sourcediff.grad(bad_inputs.int_param)(2.0, 3), 12.0)


# ---- functions without source -------------------------------------------------------------------
@pytest.mark.parametrize("func, name", [(math.sin, "sin"), (len, "len"), (np.sin, "sin"),
                                        (abs, "abs")])
@pytest.mark.quick
def test_builtin_without_source_is_a_no_source_error(func, name):
    with pytest.raises(NoSourceError) as info:
        sourcediff.grad(func)(1.5)
    message = str(info.value)
    assert name in message
    assert "hint:" in message and "rule" in message


@pytest.mark.quick
def test_lambda_passed_to_grad_is_differentiated():
    """A lambda defined in a file is read from its line (2x at 1.5, both modes)."""
    for mode in MODES:
        assert sourcediff.grad(bad_inputs.a_lambda, mode=mode)(1.5) == 3.0


@pytest.mark.quick
def test_function_made_with_exec_is_a_no_source_error():
    with pytest.raises(NoSourceError) as info:
        sourcediff.grad(bad_inputs.from_exec)(1.5)
    message = str(info.value)
    assert "from_exec" in message
    assert "hint:" in message and "exec" in message
    assert info.value.lineno == 1


@pytest.mark.quick
def test_bound_method_is_differentiated_with_its_object():
    """grad(obj.method): wrt counts the method's own parameters; the object's data is read as
    it is (d/dx of w * x * x is 2 w x)."""
    class Model:
        def __init__(self, w):
            self.w = w

        def loss(self, x):
            return self.w * x * x

    for mode in MODES:
        assert sourcediff.grad(Model(3.0).loss, mode=mode)(1.5) == 9.0


# ---- no internal exception escapes for plausible code -------------------------------------------
INTERNAL = (KeyError, AttributeError, TypeError, IndexError, NameError, AssertionError,
            ValueError, UnboundLocalError, RecursionError, ZeroDivisionError)


def _odd_id(case):
    func, args, wrt = case
    kinds = ",".join("arr" if isinstance(a, np.ndarray) else type(a).__name__ for a in args)
    return f"{func.__name__}({kinds})-wrt{wrt}"


# the odd functions sourcediff refuses, with a phrase of the message
ODD_REFUSED = {"list_concat": "`+` or `*` on lists joins or repeats them"}


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", quick_every(api_funcs.ODD, 8),
                         ids=[_odd_id(c) for c in api_funcs.ODD])
def test_plausible_function_is_correct_or_refused_cleanly(case, mode, optimize, capsys):
    """Each is differentiated exactly, except those in ODD_REFUSED, which are refused (at the
    user's line, with a hint); never another exception."""
    func, args, wrt = case
    df = sourcediff.grad(func, wrt=wrt, mode=mode, optimize=optimize)
    if func.__name__ in ODD_REFUSED:
        with pytest.raises(SourceDiffError) as info:
            df(*args)
        exc = info.value
        assert exc.filename and exc.filename.endswith("api_funcs.py"), str(exc)
        assert exc.lineno and "hint:" in str(exc), str(exc)
        assert ODD_REFUSED[func.__name__] in str(exc)
        return
    try:
        got = df(*args)
    except INTERNAL as exc:
        pytest.fail(f"{type(exc).__name__} escaped from sourcediff for {func.__name__}: {exc}\n"
                    + "".join(traceback.format_exception(exc)))
    expected = central_fd(func, args, wrt)
    assert_close(got, expected, rtol=1e-5, atol=1e-6)
    capsys.readouterr()  # the functions that print may print


@pytest.mark.quick
def test_odd_batch_is_mostly_supported():
    """Guard against the batch above passing vacuously: these plain-Python constructs must
    actually be differentiated, not refused."""
    must_work = [
        (api_funcs.prints_formatted, (1.5,)), (api_funcs.with_assert, (2.0,)),
        (api_funcs.nested_unpack, (1.5,)), (api_funcs.chained_compare, (1.5,)),
        (api_funcs.while_complex, (1.2,)), (api_funcs.calls_with_keywords, (1.5,)),
        (api_funcs.calls_chain, (0.7,)), (api_funcs.recursion, (0.7,)),
        (api_funcs.augmented_ops, (1.5,)), (api_funcs.docstring_only, (1.5,)),
    ]
    for func, args in must_work:
        got = sourcediff.grad(func)(*args)
        assert_close(got, central_fd(func, args), rtol=1e-5, atol=1e-6,
                     path=func.__name__)


@pytest.mark.quick
def test_messages_show_the_shorter_of_the_relative_and_absolute_path(tmp_path, monkeypatch):
    """The printed text names the file relative to the current directory when that is shorter;
    `filename` itself stays absolute."""
    path = str(tmp_path / "pkg" / "model.py")
    monkeypatch.chdir(tmp_path)
    exc = UnsupportedSyntaxError("no", filename=path, lineno=7, line="x = 1", col=0, hint="h")
    assert str(exc) == f"{os.path.join('pkg', 'model.py')}:7: no\n    x = 1\n    ^\n  hint: h"
    assert exc.filename == path
    monkeypatch.chdir(tmp_path / "..")
    assert str(UnsupportedSyntaxError("no", filename=path, lineno=7)).startswith(
        os.path.join(tmp_path.name, "pkg", "model.py") + ":7: ")
    deep = tmp_path.joinpath(*["d"] * 40)
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert str(UnsupportedSyntaxError("no", filename=path, lineno=7)) == f"{path}:7: no"
    # names that are not paths are shown as they are
    assert str(UnsupportedSyntaxError("no", filename="<string>", lineno=1)) == "<string>:1: no"


@pytest.mark.quick
def test_errors_survive_pickling():
    """Errors cross process boundaries (multiprocessing, pytest-xdist) intact."""
    import pickle

    with pytest.raises(UnsupportedSyntaxError) as info:
        sourcediff.grad(bad_inputs.try_except)(1.5)
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is UnsupportedSyntaxError
    assert str(again) == str(info.value)
    assert again.lineno == marker_line("try_except") and again.hint == info.value.hint


@pytest.mark.quick
def test_try_finally_is_named_as_such():
    with pytest.raises(UnsupportedSyntaxError) as info:
        sourcediff.grad(bad_inputs.try_finally)(1.5)
    assert "try/finally is not supported" in str(info.value), str(info.value)
    assert "cleanup" in info.value.hint
