"""Checkpointed loops: `with sourcediff.checkpoint(snapshots=K):` and `grad(f, checkpoint=K)`.

Every gradient is compared with the un-checkpointed one (the same function without the pragma,
or `checkpoint=0`, which ignores pragmas) and, on small cases, with central finite differences.
The schedules are checked on their own (runtime/checkpoint.py) at 10^5 steps: each step is
reversed once, in order, from the right state, with at most K snapshots, and the number of
plain forward steps is compared with Revolve's optimum, computed here from its closed form.
"""

import math
import pickle
import subprocess
import sys

import numpy as np
import pytest

import sourcediff
from sourcediff import UnsupportedSyntaxError, checkpoint, runtime
from sourcediff.runtime.checkpoint import Checkpoints

QUICK = pytest.mark.quick


# ---- the optimum, from Griewank and Walther's closed form ----
def revolve_optimum(n, snaps):
    """The least number of plain forward steps reversing n steps with `snaps` snapshots:
    t = r*n - C(snaps + r, r - 1), r the least integer with C(snaps + r, snaps) >= n."""
    if n <= 1:
        return 0
    r = 0
    while math.comb(snaps + r, snaps) < n:
        r += 1
    return r * n - (math.comb(snaps + r, r - 1) if r >= 1 else 0)


def test_the_closed_form_is_the_optimum_of_the_recursion():
    best = {}
    for s in range(1, 6):
        for n in range(1, 40):
            if n == 1:
                best[n, s] = 0
            elif s == 1:
                best[n, s] = n * (n - 1) // 2
            else:
                best[n, s] = min(m + best[n - m, s - 1] + best[m, s] for m in range(1, n))
            assert revolve_optimum(n, s) == best[n, s]
            assert runtime.checkpoint_forward_steps(n, s) == best[n, s]


def relative_error(got, want):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def assert_same(got, want, rtol=1e-12):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert_same(g, w, rtol)
        return
    assert type(got) is type(want)
    assert np.shape(got) == np.shape(want)
    assert relative_error(got, want) <= rtol, (got, want)


def central_difference(f, args, i, eps=1e-6):
    x = args[i]
    base = np.array(x, dtype=float)
    out = np.zeros(base.shape)
    for j in range(base.size):
        values = []
        for sign in (1.0, -1.0):
            moved = base.copy()
            step = eps * max(1.0, abs(float(base.reshape(-1)[j])))
            moved.reshape(-1)[j] += sign * step
            new = list(args)
            new[i] = moved if base.shape else float(moved)
            values.append(f(*new))
        out.reshape(-1)[j] = (values[0] - values[1]) / (2 * step)
    return out if base.shape else float(out)


# ---- the schedules alone ----
def run_schedule(n, snaps, online):
    """Drive a schedule with a state that is its own position; return (forward steps, most
    snapshots held)."""
    ck = Checkpoints(snaps, None if online else n, None, (False,))
    at, state = ck.first, 0
    for k in range(n):
        if k == at:
            at = ck.store(k, (state,))
        state += 1
    ck.finish(n)
    reversed_steps = []
    for flags, a, b in ck.actions():
        assert flags and not flags & ~15
        if flags & 1:     # restore
            (state,) = ck.restore(a)
            assert state == a
        if flags & 2:     # advance
            assert state == a and b > a
            state = b
        if flags & 4:     # takeshot
            assert state == b
            ck.takeshot(b, (state,))
        if flags & 8:     # the step, taped, and its adjoint
            assert state == b
            reversed_steps.append(b)
            state = None
        assert len(ck.saved) <= snaps
    assert reversed_steps == list(range(n - 1, -1, -1))
    assert not ck.saved
    return ck.forward_steps, ck.most


@pytest.mark.parametrize("online", [False, True], ids=["binomial", "online"])
def test_small_schedules_reverse_every_step_from_the_right_state(online):
    for snaps in (1, 2, 3, 4, 7):
        for n in list(range(0, 30)) + [64, 100, 201]:
            steps, most = run_schedule(n, snaps, online)
            assert most <= snaps
            if not online:
                # the sweep runs the last step plainly too (Revolve tapes it at once), and the
                # last segment may hold a single snapshot: at most r + 1 steps more
                optimum = revolve_optimum(n, snaps)
                r = 0
                while math.comb(snaps + r, snaps) < n:
                    r += 1
                assert optimum <= steps <= optimum + r + 1, (n, snaps, steps, optimum)


@QUICK
@pytest.mark.parametrize("snaps", [10, 30, 100])
def test_binomial_schedule_at_1e5_steps_is_optimal(snaps):
    n = 100_000
    steps, most = run_schedule(n, snaps, online=False)
    optimum = revolve_optimum(n, snaps)
    assert most == snaps
    assert optimum <= steps <= optimum + 30, (steps, optimum)
    assert steps / optimum <= 1.001


@pytest.mark.parametrize("snaps", [10, 30, 100])
def test_online_schedule_at_1e5_steps_is_near_optimal(snaps):
    n = 100_000
    steps, most = run_schedule(n, snaps, online=True)
    optimum = revolve_optimum(n, snaps)
    assert most <= snaps
    assert steps / optimum <= 1.2, (steps, optimum, steps / optimum)


def test_online_schedule_stays_within_its_measured_bound():
    """The online schedule costs at most 1.2 times Revolve's optimum from 10 K steps on, and
    at most 1.5 times for shorter loops (the worst: a few steps past K + 1, where one more
    plain sweep than Revolve's weighs most)."""
    for snaps in (2, 5, 10):
        for n in range(snaps + 2, 1500, 13):
            steps, _ = run_schedule(n, snaps, online=True)
            factor = steps / revolve_optimum(n, snaps)
            assert factor <= (1.2 if n >= 10 * snaps else 1.5), (n, snaps, factor)


# ---- functions ----
def simulate(x, n):
    s = 0.0
    for i in range(n):
        x = np.sin(x) * 1.1 + 0.01 * i
        s = s + np.sum(x * x)
    return s + np.sum(x)


def simulate_ck(x, n, k):
    s = 0.0
    with sourcediff.checkpoint(snapshots=k):
        for i in range(n):
            x = np.sin(x) * 1.1 + 0.01 * i
            s = s + np.sum(x * x)
    return s + np.sum(x)


def simulate_ck3(x, n):
    s = 0.0
    with checkpoint(3):
        for i in range(n):
            x = np.sin(x) * 1.1 + 0.01 * i
            s = s + np.sum(x * x)
    return s + np.sum(x)


def until(x, limit):
    s = 0.0
    k = 0
    while s < limit:
        x = np.cos(x) + 0.5
        s = s + np.sum(x * x)
        k = k + 1
    return s + k * np.sum(x)


def until_ck(x, limit, snaps):
    s = 0.0
    k = 0
    with checkpoint(snapshots=snaps):
        while s < limit:
            x = np.cos(x) + 0.5
            s = s + np.sum(x * x)
            k = k + 1
    return s + k * np.sum(x)


def stops(x, n):
    s = 0.0
    for i in range(n):
        x = x * 1.01 + np.sin(x)
        if np.sum(x) > 30.0:
            break
        if i % 3 == 1:
            continue
        s = s + np.sum(x) * i
    return s + np.sum(x * x)


def stops_ck(x, n, snaps):
    s = 0.0
    with checkpoint(snapshots=snaps):
        for i in range(n):
            x = x * 1.01 + np.sin(x)
            if np.sum(x) > 30.0:
                break
            if i % 3 == 1:
                continue
            s = s + np.sum(x) * i
    return s + np.sum(x * x)


def returns_early(x, n):
    for i in range(n):
        x = np.tanh(x) * 2.0
        if np.sum(x) > 9.0:
            return np.sum(x * x) * i
    return np.sum(x)


def returns_early_ck(x, n):
    with checkpoint(snapshots=2):
        for i in range(n):
            x = np.tanh(x) * 2.0
            if np.sum(x) > 9.0:
                return np.sum(x * x) * i
    return np.sum(x)


def step(u, c):
    return u + c * np.tanh(u)


def calls(x, c, n):
    for _i in range(n):
        x = step(x, c)
    return np.sum(x ** 2)


def calls_ck(x, c, n):
    with checkpoint(snapshots=2):
        for _i in range(n):
            x = step(x, c)
    return np.sum(x ** 2)


def nested(x, n, m):
    s = 0.0
    for i in range(n):
        for j in range(m):
            x = np.sin(x) + 0.1 * j
        s = s + np.sum(x) * i
    return s


def nested_both_ck(x, n, m):
    s = 0.0
    with checkpoint(snapshots=2):
        for i in range(n):
            with checkpoint(snapshots=2):
                for j in range(m):
                    x = np.sin(x) + 0.1 * j
            s = s + np.sum(x) * i
    return s


def nested_inner_ck(x, n, m):
    s = 0.0
    for i in range(n):
        with checkpoint(snapshots=2):
            for j in range(m):
                x = np.sin(x) + 0.1 * j
        s = s + np.sum(x) * i
    return s


def nested_outer_ck(x, n, m):
    s = 0.0
    with checkpoint(snapshots=3):
        for i in range(n):
            k = 0
            while k < m:
                x = np.sin(x) + 0.1 * k
                k = k + 1
            s = s + np.sum(x) * i
    return s


def heat(u, n, r):
    u = u.copy()
    for _t in range(n):
        lap = u[:-2] - 2 * u[1:-1] + u[2:]
        u[1:-1] += r * lap - 0.1 * u[1:-1] ** 3
    return np.sum(u * u)


def heat_ck(u, n, r):
    u = u.copy()
    with checkpoint(snapshots=3):
        for _t in range(n):
            lap = u[:-2] - 2 * u[1:-1] + u[2:]
            u[1:-1] += r * lap - 0.1 * u[1:-1] ** 3
    return np.sum(u * u)


def in_place(u, n):
    for _t in range(n):
        u[1:] = u[1:] + 0.3 * np.sin(u[:-1])
    return np.sum(u * u)


def in_place_ck(u, n):
    with checkpoint(snapshots=2):
        for _t in range(n):
            u[1:] = u[1:] + 0.3 * np.sin(u[:-1])
    return np.sum(u * u)


def through_a_view(x, n):
    row = x[0]
    total = 0.0
    for _t in range(n):
        x[0, 1:] = x[0, 1:] * 0.5 + np.cos(row[:-1])
        total = total + np.sum(row * x[1])
    return total + np.sum(x * x)


def through_a_view_ck(x, n):
    row = x[0]
    total = 0.0
    with checkpoint(snapshots=2):
        for _t in range(n):
            x[0, 1:] = x[0, 1:] * 0.5 + np.cos(row[:-1])
            total = total + np.sum(row * x[1])
    return total + np.sum(x * x)


def collects(x, n):
    ys = []
    for v in x:
        ys.append(np.sin(v) * n)
    t = 0.5 * x
    for _i in range(n):
        t = t * np.cos(t)
        ys.append(t[0])
    return np.sum(np.array(ys) ** 2) + np.sum(t)


def collects_ck(x, n):
    ys = []
    with checkpoint(snapshots=2):
        for v in x:
            ys.append(np.sin(v) * n)
    t = 0.5 * x
    with checkpoint(snapshots=2):
        for _i in range(n):
            t = t * np.cos(t)
            ys.append(t[0])
    return np.sum(np.array(ys) ** 2) + np.sum(t)


def before_and_after(x, c, n):
    t = x * c          # t: overwritten in the loop, read by the adjoint of the line below
    y = np.sum(t * t)
    for i in range(n):  # noqa: B007  (i is read after the loop)
        t = np.sin(x) * c
        x = x + t * 0.1
    c = c * 2.0        # the loop read c: the recomputation needs the value it had
    return y + np.sum(x * c) + i


def before_and_after_ck(x, c, n):
    t = x * c
    y = np.sum(t * t)
    with checkpoint(snapshots=2):
        for i in range(n):  # noqa: B007
            t = np.sin(x) * c
            x = x + t * 0.1
    c = c * 2.0
    return y + np.sum(x * c) + i


def params(p, xs):
    h = 0.0
    for x in xs:
        h = np.tanh(p["w"] * h + p["u"] * x)
    return np.sum(h * h)


def params_ck(p, xs):
    h = 0.0
    with checkpoint(snapshots=2):
        for x in xs:
            h = np.tanh(p["w"] * h + p["u"] * x)
    return np.sum(h * h)


def calls_a_checkpointed_loop(x, n):
    return inner_loop(x, n) * 2.0 + np.sum(x)


def inner_loop(x, n):
    s = 0.0
    with checkpoint(snapshots=2):
        for _i in range(n):
            x = np.sin(x) + 0.5
            s = s + np.sum(x)
    return s


def calls_a_loop(x, n):
    return plain_loop(x, n) * 2.0 + np.sum(x)


def plain_loop(x, n):
    s = 0.0
    for _i in range(n):
        x = np.sin(x) + 0.5
        s = s + np.sum(x)
    return s


def in_a_branch(x, n, flag):
    if flag:
        with checkpoint(snapshots=2):
            for _i in range(n):
                x = x * np.cos(x)
    return np.sum(x)


def in_a_branch_plain(x, n, flag):
    if flag:
        for _i in range(n):
            x = x * np.cos(x)
    return np.sum(x)


def scalar_loop(x, n):
    for _i in range(n):
        x = x * 0.5 + 0.3 * x * x
    return x


def scalar_loop_ck(x, n):
    with checkpoint(snapshots=3):
        for _i in range(n):
            x = x * 0.5 + 0.3 * x * x
    return x


X = np.linspace(0.1, 1.0, 5)
GRID = np.linspace(0.1, 1.2, 8).reshape(2, 4)

# (id, checkpointed function, its arguments, plain function, its arguments)
PAIRS = [
    ("for", simulate_ck3, (X, 9), simulate, (X, 9)),
    ("while", until_ck, (X, 40.0, 3), until, (X, 40.0)),
    ("break", stops_ck, (X, 60, 2), stops, (X, 60)),
    ("break-not-taken", stops_ck, (0.01 * X, 8, 2), stops, (0.01 * X, 8)),
    ("return", returns_early_ck, (X, 30), returns_early, (X, 30)),
    ("calls-user-function", calls_ck, (X, 0.3, 7), calls, (X, 0.3, 7)),
    ("nested-both", nested_both_ck, (X, 4, 5), nested, (X, 4, 5)),
    ("nested-inner", nested_inner_ck, (X, 4, 5), nested, (X, 4, 5)),
    ("nested-while", nested_outer_ck, (X, 5, 4), nested, (X, 5, 4)),
    ("heat-in-place", heat_ck, (X, 9, 0.2), heat, (X, 9, 0.2)),
    ("view", through_a_view_ck, (GRID, 5), through_a_view, (GRID, 5)),
    ("lists", collects_ck, (X, 6), collects, (X, 6)),
    ("before-and-after", before_and_after_ck, (X, 0.7, 6), before_and_after, (X, 0.7, 6)),
    ("callee", calls_a_checkpointed_loop, (X, 6), calls_a_loop, (X, 6)),
    ("branch", in_a_branch, (X, 6, True), in_a_branch_plain, (X, 6, True)),
    ("scalar", scalar_loop_ck, (0.3, 12), scalar_loop, (0.3, 12)),
]


@pytest.mark.parametrize("name,ck,ck_args,plain,args", PAIRS, ids=[p[0] for p in PAIRS])
def test_checkpointed_gradient_is_the_plain_gradient(name, ck, ck_args, plain, args):
    want = sourcediff.grad(plain)(*_copy(args))
    assert_same(sourcediff.grad(ck)(*_copy(ck_args)), want)
    # checkpoint=0 ignores the pragmas: the same gradient again
    assert_same(sourcediff.grad(ck, checkpoint=0)(*_copy(ck_args)), want)


@pytest.mark.parametrize("name,ck,ck_args,plain,args", PAIRS, ids=[p[0] for p in PAIRS])
def test_checkpointed_gradient_matches_finite_differences(name, ck, ck_args, plain, args):
    got = sourcediff.grad(ck)(*_copy(ck_args))
    rest = tuple(ck_args[1:])
    want = central_difference(lambda x: ck(*_copy((x,) + rest)), [ck_args[0]], 0)
    assert relative_error(got, want) < 1e-6


def _copy(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


@QUICK
@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 20])
@pytest.mark.parametrize("snaps", [1, 2, 3, 50])
def test_any_number_of_snapshots_and_trips(n, snaps):
    """K = 1, 2, more than the trip count, and no trips at all."""
    want = sourcediff.grad(simulate)(X, n)
    assert_same(sourcediff.grad(simulate_ck)(X, n, snaps), want, 1e-13)
    value, grad = sourcediff.value_and_grad(simulate_ck)(X, n, snaps)
    assert value == simulate(X, n)
    assert_same(grad, want, 1e-13)
    assert_same(sourcediff.grad(simulate, checkpoint=snaps)(X, n), want, 1e-13)
    assert_same(sourcediff.grad(until_ck)(X, 3.0 * n, snaps), sourcediff.grad(until)(X, 3.0 * n))


def test_zero_trips_of_a_while_loop():
    assert_same(sourcediff.grad(until_ck)(X, -1.0, 2), sourcediff.grad(until)(X, -1.0))
    assert_same(sourcediff.value_and_grad(until_ck)(X, -1.0, 2),
                sourcediff.value_and_grad(until)(X, -1.0))


def test_value_and_grad_and_vjp():
    for n in (0, 5, 17):
        value, grad = sourcediff.value_and_grad(simulate_ck)(X, n, 2)
        want_value, want_grad = sourcediff.value_and_grad(simulate)(X, n)
        assert value == want_value
        assert_same(grad, want_grad)
        value, grad = sourcediff.vjp(simulate_ck)(X, n, 2, 3.0)
        assert value == want_value
        assert_same(grad, 3.0 * want_grad)
        assert_same(sourcediff.value_and_grad(simulate, checkpoint=2)(X, n),
                    (want_value, want_grad))
        assert_same(sourcediff.vjp(simulate, checkpoint=2)(X, n, 3.0),
                    (want_value, 3.0 * want_grad))
    # the output is the loop's own state: its final value, not a recomputed one
    assert sourcediff.value_and_grad(scalar_loop_ck)(0.3, 12)[0] == scalar_loop(0.3, 12)


def test_several_wrt_and_dict_parameters():
    p = {"w": 0.7, "u": np.array([0.3, -0.2])}
    xs = [np.array([1.0, 0.5]), np.array([-0.4, 0.9]), np.array([0.2, 0.1])]
    want = sourcediff.grad(params)(p, xs)
    got = sourcediff.grad(params_ck)(p, xs)
    assert got.keys() == want.keys()
    for key in want:
        assert_same(got[key], want[key])
    want = sourcediff.grad(before_and_after, wrt=(0, "c"))(X, 0.7, 6)
    assert_same(sourcediff.grad(before_and_after_ck, wrt=(0, "c"))(X, 0.7, 6), want)
    assert_same(sourcediff.grad(before_and_after, wrt=(0, "c"), checkpoint=1)(X, 0.7, 6),
                want)


def test_arguments_written_in_place_are_given_back_unchanged():
    u = np.linspace(0.1, 1.0, 6)
    a, b = u.copy(), u.copy()
    want = sourcediff.grad(in_place)(a, 7)
    got = sourcediff.grad(in_place_ck)(b, 7)
    assert_same(got, want)
    assert np.array_equal(a, u) and np.array_equal(b, u)
    x = np.linspace(0.1, 1.2, 8).reshape(2, 4)
    y = x.copy()
    sourcediff.grad(through_a_view_ck)(y, 5)
    assert np.array_equal(x, y)


def test_the_option_checkpoints_the_outermost_loops():
    """grad(f, checkpoint=K) leaves the comprehension and the inner loop alone and agrees with
    the plain gradient; the pragma of a loop keeps its own K."""
    df = sourcediff.grad(nested, checkpoint=3)
    assert df.source.count("_sd.checkpointed(") == 1
    assert "_sd.checkpointed(3," in df.source
    assert_same(df(X, 4, 5), sourcediff.grad(nested)(X, 4, 5))
    df = sourcediff.grad(collects, checkpoint=4)
    assert df.source.count("_sd.checkpointed(4,") == 2
    assert_same(df(X, 6), sourcediff.grad(collects)(X, 6))
    assert sourcediff.grad(nested_inner_ck, checkpoint=5).source.count(
        "_sd.checkpointed(") == 2


def test_forward_mode_and_higher_orders_ignore_the_pragma():
    assert "checkpoint" not in sourcediff.jvp(simulate_ck3).source
    assert_same(sourcediff.grad(simulate_ck3, mode="forward")(X, 6),
                sourcediff.grad(simulate)(X, 6), 1e-12)
    assert sourcediff.hessian(scalar_loop_ck)(0.3, 6) == pytest.approx(
        sourcediff.hessian(scalar_loop)(0.3, 6), rel=1e-12)
    v = np.ones(5)
    assert_same(sourcediff.hvp(simulate_ck3)(X, 4, v), sourcediff.hvp(simulate)(X, 4, v))


def test_a_plain_call_runs_the_pragma_as_a_no_op():
    assert simulate_ck(X, 6, 2) == simulate(X, 6)
    with checkpoint(snapshots=4) as pragma:
        assert pragma.snapshots == 4
    with pytest.raises(ValueError):
        checkpoint(0)


def test_pickles_with_its_option():
    df = sourcediff.grad(simulate, checkpoint=3)
    again = pickle.loads(pickle.dumps(df))
    assert again is df
    assert sourcediff.grad(simulate, checkpoint=3) is df
    assert sourcediff.grad(simulate) is not df


def integer_loop(x, n):
    k = 0
    with checkpoint(snapshots=2):
        for i in range(n):
            k = k + i
    return np.sum(x) * k


def stateless(x, n):
    t = x * 2.0
    y = np.sum(t * t)
    with checkpoint(snapshots=2):
        for i in range(n):
            t = np.ones(3) * i
    return y + np.sum(t)


def stateless_plain(x, n):
    t = x * 2.0
    y = np.sum(t * t)
    for i in range(n):
        t = np.ones(3) * i
    return y + np.sum(t)


def test_a_loop_no_derivative_flows_through_is_an_ordinary_loop():
    df = sourcediff.grad(integer_loop)
    assert "checkpointed" not in df.source
    assert_same(df(X[:3], 5), np.full(3, 10.0))


def test_a_loop_that_carries_no_state():
    """The loop overwrites `t`, whose value from before the loop the adjoint reads later."""
    x = X[:3]
    df = sourcediff.grad(stateless)
    assert "checkpointed" in df.source
    for n in (0, 1, 6):
        assert_same(df(x, n), sourcediff.grad(stateless_plain)(x, n))


def test_an_exported_derivative_runs_without_sourcediff(tmp_path):
    """`sourcediff export` copies the schedules too: the module needs only NumPy."""
    from sourcediff.export import export_source
    text, name = export_source(simulate_ck3)
    (tmp_path / "exported_checkpoint.py").write_text(text, encoding="utf-8")
    code = ("import sys, numpy as np\n"
            f"sys.path.insert(0, {str(tmp_path)!r})\n"
            "import exported_checkpoint as m\n"
            f"print(repr(m.{name}(np.linspace(0.1, 1.0, 5), 9).tolist()))\n"
            "print('sourcediff' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    values, imported = done.stdout.splitlines()
    assert imported == "False"
    got = np.array(eval(values))
    assert_same(got, sourcediff.grad(simulate)(X, 9))


# ---- memory and recomputation ----
def simulation(u, a, n, k):
    with checkpoint(snapshots=k):
        for _t in range(n):
            u = u * (a - 0.1 * u)
    return np.sum(u)


def simulation_until(u, a, n, k):
    t = 0
    with checkpoint(snapshots=k):
        while t < n:
            u = u * (a - 0.1 * u)
            t = t + 1
    return np.sum(u)


def exact_gradient(u, a, n):
    """d sum(u_n) / d u_0 for u_{t+1} = u_t (a - 0.1 u_t), by the chain rule forward."""
    g = np.ones_like(u)
    for _ in range(n):
        g = g * (a - 0.2 * u)
        u = u * (a - 0.1 * u)
    return g


STATE = np.linspace(0.5, 1.5, 1000)     # 1,000 floats: 8,000 bytes a state


def state_bytes(function, u):
    """The bytes of one loop-carried state: the array, and the while loop's counter."""
    return u.nbytes + (8 if function is simulation_until else 0)


@pytest.mark.parametrize("snaps", [10, 30, 100])
@pytest.mark.parametrize("function", [simulation, simulation_until], ids=["for", "while"])
def test_peak_tape_is_at_most_k_plus_two_states(function, snaps):
    n = 2000
    df = sourcediff.grad(function)
    peak = df.tape_bytes(STATE, 1.0, n, snaps)
    stats = runtime.checkpoint_statistics()
    assert peak <= (snaps + 2) * state_bytes(function, STATE), peak / STATE.nbytes
    assert stats["steps"] == n and stats["most_snapshots"] <= snaps
    assert stats["forward_steps"] <= 1.2 * revolve_optimum(n, snaps)
    plain = sourcediff.grad(function, checkpoint=0)
    assert plain.tape_bytes(STATE, 1.0, n, snaps) > 10 * peak
    assert_same(df(STATE, 1.0, n, snaps), plain(STATE, 1.0, n, snaps))


@QUICK
def test_a_hundred_thousand_steps_of_a_thousand_floats():
    """The issue's case: 10^5 steps of a 1,000-float state, K = 100 (the plain gradient would
    keep 10^5 states, 800 MB): the gradient against the chain rule computed forward (which
    needs no tape), the recomputation against Revolve's optimum, and the peak tape of the
    `while` version (online schedule)."""
    n, snaps = 100_000, 100
    got = sourcediff.grad(simulation)(STATE, 1.0, n, snaps)
    stats = runtime.checkpoint_statistics()
    assert relative_error(got, exact_gradient(STATE, 1.0, n)) <= 1e-12
    assert stats["schedule"] == "binomial" and stats["most_snapshots"] == snaps
    assert stats["forward_steps"] <= revolve_optimum(n, snaps) + 10
    peak = sourcediff.grad(simulation_until).tape_bytes(STATE, 1.0, n, snaps)
    stats = runtime.checkpoint_statistics()
    assert peak <= (snaps + 2) * state_bytes(simulation_until, STATE)
    assert stats["schedule"] == "online" and stats["most_snapshots"] <= snaps
    assert stats["forward_steps"] / revolve_optimum(n, snaps) <= 1.2


# ---- refusals ----
def other_with(x):
    with open("f") as fh:  # noqa: F841
        x = x * 2
    return x


def two_loops(x):
    with checkpoint(snapshots=2):
        for _i in range(3):
            x = x * 2
        for _i in range(3):
            x = x * 2
    return x


def computed_snapshots(x, k):
    with checkpoint(snapshots=2 * k):
        for _i in range(3):
            x = x * 2
    return x


def named(x):
    with checkpoint(snapshots=2) as c:  # noqa: F841
        for _i in range(3):
            x = x * 2
    return x


def changing_snapshots(x, k):
    with checkpoint(snapshots=k):
        for _i in range(3):
            x = x * 2
            k = k + 1
    return x


def draws(x, k):
    with checkpoint(snapshots=k):
        for _i in range(3):
            x = x + 0.1 * np.random.normal()
    return x


@pytest.mark.parametrize("func,message", [
    (other_with, "a `with` block is not supported"),
    (two_loops, "the body of `with sourcediff.checkpoint(...)` must be one for or while loop"),
    (computed_snapshots, "the number of snapshots must be a positive integer literal or a "
                         "variable"),
    (named, "`with sourcediff.checkpoint(...) as ...` is not supported"),
    (changing_snapshots, "the number of snapshots `k` changes inside the checkpointed loop"),
    (draws, "a checkpointed loop runs its steps again, and this random draw would give other "
            "numbers then"),
])
def test_refusals(func, message):
    args = (1.0, 2) if func.__code__.co_argcount == 2 else (1.0,)
    with pytest.raises(UnsupportedSyntaxError) as info:
        sourcediff.grad(func)(*args)
    assert info.value.reason == message
    assert info.value.lineno is not None


def talks(x, n):
    with checkpoint(snapshots=2):
        for i in range(n):
            print("step", i)
            x = np.sin(x)
    return np.sum(x)


def test_a_recomputed_step_does_not_print_again(capsys):
    sourcediff.grad(talks)(X, 6)
    assert capsys.readouterr().out == "".join(f"step {i}\n" for i in range(6))


def test_a_bad_number_of_snapshots_at_run_time():
    with pytest.raises(ValueError, match="positive integer number of snapshots"):
        sourcediff.grad(simulate_ck)(X, 3, 0)
    with pytest.raises(ValueError, match="number of snapshots"):
        sourcediff.grad(simulate, checkpoint=-1)
