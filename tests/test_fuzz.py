"""The differential fuzzer (tests/fuzz, docs/fuzzing.md): a fixed-seed campaign against
sourcediff, and tests of the fuzzer itself (generator, oracles, shrinker, failure files).

The campaign fails whenever sourcediff gives a wrong derivative, crashes, refuses without
naming the user's line, or hangs on any of its programs; the message lists each failing
program with the command that replays it.
"""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from fuzz.fakes import (
    FiniteDifferenceAPI,
    Hanging,
    Mutating,
    Raising,
    WrongAtOnePoint,
    WrongInForwardMode,
    WrongValue,
    WrongWhenSourceContains,
    ZeroDimensional,
)
from fuzz.generator import FEATURES, generate
from fuzz.oracles import FAILURES, load, primal, run_program, unload
from fuzz.program import Expr, Function, If, Line, Param, Program, leaf, sum_expr
from fuzz.report import failure_file
from fuzz.run import Options, campaign, describe_record, summary
from fuzz.shrink import shrink
from fuzz.typesys import FLOAT, arr

CAMPAIGN_SEED = 20240901
CAMPAIGN_COUNT = 200


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fuzz_programs"))


# --------------------------------------------------------------------------------------------
# The campaign
# --------------------------------------------------------------------------------------------


def test_campaign_finds_no_wrong_derivative_crash_or_hang(sd, workdir):
    """CAMPAIGN_COUNT programs on two cores: none wrong, crashing, with a bad error, timing
    out (or invalid: a generator bug).  Replay one with ``python -m tests.fuzz --replay
    SEED:K``."""
    opts = Options(seed=CAMPAIGN_SEED, shrink=False, timeout=60.0, autograd=True)
    start = time.monotonic()
    records = campaign(opts, list(range(CAMPAIGN_COUNT)), jobs=2)
    report = summary(records, opts, time.monotonic() - start)
    failing = [r for r in records if r["outcome"] in FAILURES + ("invalid",)]
    details = "\n\n".join(describe_record(r) for r in failing[:5])
    assert len(records) == CAMPAIGN_COUNT
    assert not failing, f"{len(failing)} failing programs\n{report}\n\n{details}"


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_generator_makes_valid_programs_that_use_the_feature(feature, workdir):
    """Every program of a one-feature campaign runs and returns a finite float, and most of
    them really use the feature."""
    using = 0
    for k in range(30):
        prog = generate(11, k, frozenset({feature}), swarm=False)
        module, _ = load(prog, workdir)
        try:
            value = primal(module.f, prog.args)
        finally:
            unload(module)
        assert np.isfinite(value), prog.render()
        assert prog.features_used() <= {feature}, (prog.features_used(), prog.render())
        using += feature in prog.features_used()
    assert using >= 15, f"only {using} of 30 programs use {feature}"


def test_generator_with_all_features_makes_valid_programs(workdir):
    for k in range(60):
        prog = generate(12, k)
        module, _ = load(prog, workdir)
        try:
            primal(module.f, prog.args)
        finally:
            unload(module)


def test_programs_are_reproducible_from_seed_and_index():
    a, b, other = generate(5, 17), generate(5, 17), generate(5, 18)
    assert a.render() == b.render()
    assert repr(a.args) == repr(b.args)
    assert a.render() != other.render()
    assert generate(5, 17, swarm=False).features == frozenset(FEATURES)
    assert a.features <= frozenset(FEATURES)


# --------------------------------------------------------------------------------------------
# The oracles, against stand-ins whose answers are known
# --------------------------------------------------------------------------------------------


def small_program(label="test:0"):
    """``f(x, a)`` with a float and an array argument, smooth everywhere."""
    body = [
        Line("t = {0:b}", [Expr("np.sin({0:b}) * {1}", [leaf("a"), leaf("x")])]),
        Line("u = {0:b}", [Expr("np.cos({0:b})", [leaf("t")])]),
        Line("return {0:b}", [Expr("np.sum({0:b}) + x * x", [leaf("u")])]),
    ]
    main = Function("f", [Param("x"), Param("a")], body)
    return Program([main], [("x", FLOAT), ("a", arr(3))], [0.4, np.array([0.3, -0.2, 0.9])],
                   ("x", "a"), label=label)


def outcome(api, prog, workdir, **kw):
    return run_program(prog, api, workdir=workdir, timeout=10.0, second_order=True, **kw)


def test_exact_answers_are_ok(workdir):
    result = outcome(FiniteDifferenceAPI(), small_program(), workdir)
    assert result.outcome == "ok", result.problems


def test_a_perturbed_derivative_is_wrong(workdir):
    result = outcome(WrongInForwardMode(), small_program(), workdir)
    assert result.outcome == "wrong"
    assert {p.check for p in result.problems} == {"grad[forward,opt]", "grad[forward,noopt]"}


def test_a_wrong_value_is_wrong(workdir):
    result = outcome(WrongValue(), small_program(), workdir)
    assert result.outcome == "wrong"
    assert [p.check for p in result.problems] == ["value_and_grad"]


def test_a_wrong_structure_is_wrong(workdir):
    result = outcome(ZeroDimensional(), small_program(), workdir)
    assert result.outcome == "wrong"
    assert "structure" in result.problems[0].detail


def test_mutating_the_arguments_is_wrong(workdir):
    result = outcome(Mutating(), small_program(), workdir)
    assert result.outcome == "wrong"
    assert "mutated" in result.problems[0].detail


def test_an_exception_is_a_crash(workdir):
    result = outcome(Raising(lambda f: KeyError("t3")), small_program(), workdir)
    assert result.outcome == "crash"
    assert result.problems[0].exc_type == "KeyError"


def test_a_refusal_naming_the_line_is_refused(sd, workdir):
    def located(f):
        code = f.__code__
        return sd.UnsupportedSyntaxError("not supported here", filename=code.co_filename,
                                         lineno=code.co_firstlineno + 1)
    result = outcome(Raising(located), small_program(), workdir)
    assert result.outcome == "refused"
    assert result.problems[0].detail == "not supported here"


def test_a_refusal_without_the_line_is_a_bad_error(sd, workdir):
    result = outcome(Raising(lambda f: sd.SourceDiffError("somewhere")), small_program(),
                     workdir)
    assert result.outcome == "bad-error"


def test_a_hang_is_a_timeout(workdir):
    result = run_program(small_program(), Hanging(), workdir=workdir, timeout=1.0)
    assert result.outcome == "timeout"


def kink_program():
    """``abs(x - 0.4)`` just right of its kink: the two FD stencils disagree there."""
    body = [Line("return {0:b}", [Expr("abs({0:b} - 0.4)", [leaf("x")])])]
    return Program([Function("f", [Param("x")], body)], [("x", FLOAT)], [0.4 + 1e-4], ("x",))


def test_a_non_smooth_point_is_skipped_not_passed(workdir):
    result = outcome(FiniteDifferenceAPI(), kink_program(), workdir, redraws=0)
    assert not result.smooth
    assert result.outcome == "skipped"


def rounding_tie_program(x):
    """``2x`` where ``np.mean(x * np.ones((3, 1))) <= x``, else ``3x``: the comparison is a
    tie that rounding decides, false at the drawn point and true a step either side of it."""
    test = "np.mean({0:b} * np.ones((3, 1))) <= {0:b}"
    body = [Line("return {0:b}", [Expr(f"(2.0 * {{0:b}}) if ({test}) else (3.0 * {{0:b}})",
                                        [leaf("x")])])]
    return Program([Function("f", [Param("x")], body)], [("x", FLOAT)], [x], ("x",))


def test_a_jump_at_the_drawn_point_is_not_smooth(sd, workdir):
    x = -0.386591
    assert not np.mean(x * np.ones((3, 1))) <= x
    assert all(np.mean(y * np.ones((3, 1))) <= y for y in (x - 1e-6, x + 1e-6))
    result = outcome(sd, rounding_tie_program(x), workdir, redraws=0, confirms=0)
    assert not result.smooth
    assert result.outcome == "skipped", result.problems


def test_a_wrong_number_only_at_the_drawn_point_is_skipped(workdir):
    prog = small_program()
    result = outcome(WrongAtOnePoint(prog.args), prog, workdir)
    assert result.outcome == "skipped", result.problems
    assert not result.problems
    assert "wrong only at the drawn point (grad[reverse,noopt], grad[reverse,opt]" \
        in result.notes[0]


def test_modes_must_agree_where_fd_cannot_judge(workdir):
    result = outcome(WrongInForwardMode(), kink_program(), workdir, redraws=0)
    assert not result.smooth
    assert result.outcome == "wrong"
    assert {p.check for p in result.problems} == {"modes-agree"}


# --------------------------------------------------------------------------------------------
# The shrinker and the failure files
# --------------------------------------------------------------------------------------------


def padded_program():
    """A program with nine statements of which only the ``np.cos`` line matters to the
    (fake) bug, an ``if`` around it and an unused parameter."""
    stmts = [Line(f"p{k} = np.tanh(a) * {0.1 * k:.1f}") for k in range(4)]
    stmts.append(If([leaf("x > -5.0")], [[Line("q = np.cos(a) * x")]],
                    [Line("q = a * 0.0")]))
    stmts += [Line(f"r{k} = np.sin(p{k}) + x") for k in range(3)]
    terms = [leaf("np.sum(q)", FLOAT)] + [leaf(f"np.sum(r{k})", FLOAT) for k in range(3)]
    stmts.append(Line("return {0:b}", [sum_expr(terms, FLOAT)]))
    main = Function("f", [Param("x"), Param("a"), Param("unused")], stmts)
    return Program([main], [("x", FLOAT), ("a", arr(3)), ("unused", FLOAT)],
                   [0.7, np.array([0.3, -0.2, 0.9]), 1.0], ("x", "a"), label="test:1")


def test_the_shrinker_keeps_only_what_the_failure_needs(workdir):
    api = WrongWhenSourceContains("np.cos")
    prog = padded_program()
    result = outcome(api, prog, workdir)
    assert result.outcome == "wrong"
    small, tries = shrink(prog, result.failure, result.args, api, workdir, seconds=60)
    text = small.render()
    assert tries > 0
    assert "np.cos" in text
    assert len(small.main.body) <= 2, text
    assert "unused" not in text and "np.tanh" not in text, text
    assert outcome(api, small, workdir, redraws=0).outcome == "wrong"


def test_the_shrinker_keeps_the_crash(workdir):
    def crash_on_sin(f):
        import inspect
        return KeyError("boom") if "np.sin" in inspect.getsource(f) else None

    class CrashOnSin(FiniteDifferenceAPI):
        def grad(self, f, wrt=0, mode="reverse", optimize=True):
            exc = crash_on_sin(f)
            if exc:
                raise exc
            return super().grad(f, wrt, mode, optimize)

    prog = padded_program()
    api = CrashOnSin()
    result = outcome(api, prog, workdir)
    assert result.outcome == "crash"
    small, _ = shrink(prog, result.failure, result.args, api, workdir, seconds=60)
    assert small.render().count("np.sin") == 1
    assert len(small.main.body) <= 3, small.render()


def test_a_failure_file_runs_on_its_own(workdir, tmp_path):
    prog = small_program("test:2")
    result = outcome(WrongInForwardMode(), prog, workdir)
    record = {"label": prog.label, "size": (prog.size(), prog.size())}
    text = failure_file(prog, result.failure, record, (frozenset(FEATURES), True))
    assert text.startswith("# sourcediff fuzz failure: wrong in grad[forward,opt]")
    assert "# expected: " in text and "# actual: " in text
    assert "python -m tests.fuzz --replay test:2" in text
    path = tmp_path / "failure.py"
    path.write_text(text)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "finite differences:" in done.stdout
    assert done.stdout.count("grad ") == 4
