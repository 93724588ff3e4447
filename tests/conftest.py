"""Make the test helpers (corpus.py, fd.py) importable as top-level modules; shared fixtures;
the quick tier.

The quick tier (`python -m pytest -m quick`, under a minute) is a representative slice of the
full suite (`python -m pytest`, what CI runs): tests carry `pytest.mark.quick`, and a
parametrized corpus marks a deterministic sample of its parameters with `quick_every`. The
test files other engineers are still changing get their slice from `QUICK_ELSEWHERE` below.
"""

import os
import sys

import pytest

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

QUICK = pytest.mark.quick
_PARAM = type(pytest.param(None))


def _mark_quick(values, picked, unpack):
    """`values` with those at the indices `picked` as `pytest.param(..., marks=quick)` (a value
    that is already a `pytest.param` keeps its id and marks)."""
    out = []
    for k, value in enumerate(values):
        if k not in picked:
            out.append(value)
        elif isinstance(value, _PARAM):
            out.append(pytest.param(*value.values, marks=(*value.marks, QUICK), id=value.id))
        else:
            out.append(pytest.param(*value, marks=QUICK) if unpack
                       else pytest.param(value, marks=QUICK))
    return out


def quick_every(values, every, *, unpack=False):
    """`values` for `pytest.mark.parametrize`, with the first and then every `every`-th value
    marked `quick`: a deterministic sample spread over a corpus. `unpack=True` for several
    argument names (each value is a tuple of them)."""
    if every < 1:
        raise ValueError(f"every must be at least 1, not {every!r}")
    values = list(values)
    return _mark_quick(values, set(range(0, len(values), every)), unpack)


def quick_if(values, chosen, *, unpack=False):
    """`values` for `pytest.mark.parametrize`, with the values `v` for which `chosen(v)` is true
    marked `quick` (for a `pytest.param`, `chosen` sees the value, or the tuple of values
    with `unpack=True`)."""
    values = list(values)

    def plain(v):
        if not isinstance(v, _PARAM):
            return v
        return v.values if unpack else v.values[0]

    return _mark_quick(values, {k for k, v in enumerate(values) if chosen(plain(v))}, unpack)


# Test files other engineers are changing: their quick slice is chosen here, by test name, so
# the marks do not touch their work in progress. {file: {test function: None (every
# parametrization) or (parameter name, every) (the parametrizations whose index for that
# parameter is a multiple of `every`)}}. Naming a test function that the file does not define
# is an error, so the slice cannot silently vanish when a test is renamed.
QUICK_ELSEWHERE = {
    "test_rules.py": {
        "test_rule_matches_fd": ("i", 40),
        "test_second_derivatives": ("i", 60),
        "test_every_rule_has_a_spec": None,
        "test_every_differentiable_rule_has_both_modes": None,
        "test_a_wrong_rule_fails_the_check": None,
        "test_unsupported_calls_are_refused": None,
    },
    "test_fuzz.py": {
        "test_programs_are_reproducible_from_seed_and_index": None,
        "test_exact_answers_are_ok": None,
        "test_a_perturbed_derivative_is_wrong": None,
    },
}


def _selected_elsewhere(item, rule):
    """Whether the QUICK_ELSEWHERE `rule` for `item`'s test function selects `item`."""
    if rule is None:
        return True
    param, every = rule
    callspec = getattr(item, "callspec", None)
    if callspec is None or param not in callspec.indices:
        raise pytest.UsageError(f"tests/conftest.py QUICK_ELSEWHERE: {item.nodeid} has no "
                                f"parameter {param!r}")
    return callspec.indices[param] % every == 0


@pytest.hookimpl(tryfirst=True)   # before `-m quick` deselects what is not marked
def pytest_collection_modifyitems(config, items):
    modules = {}
    for item in items:
        tests = QUICK_ELSEWHERE.get(item.path.name)
        if tests is None or not isinstance(item, pytest.Function):
            continue
        modules[item.path.name] = item.module
        name = item.originalname
        if name in tests and _selected_elsewhere(item, tests[name]):
            item.add_marker(QUICK)
    for filename, module in modules.items():
        missing = [name for name in QUICK_ELSEWHERE[filename]
                   if not callable(getattr(module, name, None))]
        if missing:
            raise pytest.UsageError(f"tests/conftest.py QUICK_ELSEWHERE names tests that "
                                    f"{filename} does not have: {', '.join(missing)}")


@pytest.fixture(scope="module")
def sd():
    """The sourcediff package (imported inside the fixture, so an import error fails the tests
    that use it instead of hiding them)."""
    import sourcediff

    return sourcediff
