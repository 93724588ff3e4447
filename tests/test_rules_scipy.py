"""Every SciPy rule (rules/scipy.py), with the checks of tests/test_rules.py.

The spec table below runs through test_rules.py's `Table`: each spec becomes a function
`np.sum(W * (expr))` in a generated module, differentiated in reverse and forward mode against
central finite differences, with a zero adjoint, second derivatives (forward over reverse, and
reverse over reverse) and float32. Input domains per function: positive scales and shapes,
x inside (0, 1) for beta, points inside the simplex for dirichlet, SPD covariances, symmetric
matrices with distinct eigenvalues for eigh. The SciPy-free behaviour (sourcediff imports, and
lists the same rules, without SciPy) is checked in fresh processes.

Skipped when SciPy is not installed.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import quick_every

pytest.importorskip("scipy")
import scipy.linalg  # noqa: E402
import scipy.special  # noqa: E402
import scipy.stats  # noqa: E402
import test_rules as tr  # noqa: E402
from test_rules import A, S, spec  # noqa: E402

import sourcediff  # noqa: E402
from sourcediff import MissingRuleError, runtime  # noqa: E402
from sourcediff.rules import registry  # noqa: E402
from sourcediff.rules import scipy as scipy_rules  # noqa: E402

scipy_rules.load()
SP, ST, LA = "scipy.special", "scipy.stats", "scipy.linalg"
UNARY = [("expit", "n"), ("log_expit", "n"), ("logit", "prob"), ("gammaln", "pos"),
         ("gamma", "pos"), ("digamma", "pos"), ("psi", "pos"), ("erf", "n"), ("erfc", "n"),
         ("erfinv", "unit"), ("ndtr", "n"), ("ndtri", "prob"), ("log_ndtr", "n")]
SPD = A(3, 3, dom="spd")
SYM = A(3, 3, dom="sym")

# (digamma's derivative, polygamma, computes in float64 even for float32 input)
F64 = ("digamma", "psi")
SPECS = (
    [spec(f"{SP}.{f}(a)", A(3, 4, dom=d), f32=f not in F64) for f, d in UNARY]
    + [spec(f"{SP}.{f}(a)", S(d), name=f"{f}(a) scalar") for f, d in UNARY]
    + [
        spec(f"{SP}.log_ndtr(a - 6.0)", A(3, 4), name="log_ndtr far left"),
        spec(f"{SP}.polygamma(1, a)", A(3, 4, dom="pos")),
        spec(f"{SP}.polygamma(2, a)", S("pos")),
        spec(f"{SP}.polygamma(np.array([0, 1, 2]), a)", A(4, 3, dom="pos")),
        spec(f"{SP}.xlogy(a, b)", A(3, 4), A(3, 4, dom="pos")),
        spec(f"{SP}.xlogy(a, b)", A(3, 1), A(1, 4, dom="pos"), name="xlogy broadcast"),
        spec(f"{SP}.xlog1py(a, b)", A(3, 4), A(4, dom="pos")),
        spec(f"{SP}.betaln(a, b)", A(3, 4, dom="pos"), A(4, dom="pos")),
        spec(f"{SP}.betaln(a, b)", S("pos"), S("pos"), name="betaln scalars"),
        # logsumexp, softmax, log_softmax
        spec(f"{SP}.logsumexp(a)", A(3, 4)),
        spec(f"{SP}.logsumexp(a, axis=1)", A(3, 4)),
        spec(f"{SP}.logsumexp(a, axis=0, keepdims=True)", A(3, 4)),
        spec(f"{SP}.logsumexp(a, axis=(0, 2))", A(2, 3, 4)),
        spec(f"{SP}.logsumexp(a, b=b)", A(3, 4), A(3, 4, dom="pos")),
        spec(f"{SP}.logsumexp(a, axis=1, b=b)", A(3, 4), A(4, dom="pos")),
        spec(f"{SP}.logsumexp(a, -1, b)", A(4), A(2, 4, dom="pos"), name="logsumexp wide b"),
        spec(f"{SP}.softmax(a)", A(3, 4)),
        spec(f"{SP}.softmax(a, axis=1)", A(3, 4)),
        spec(f"{SP}.softmax(a, axis=0)", A(3, 4)),
        spec(f"{SP}.log_softmax(a)", A(3, 4)),
        spec(f"{SP}.log_softmax(a, axis=1)", A(3, 4)),
        # scipy.stats
        spec(f"{ST}.norm.logpdf(a)", A(3, 4)),
        spec(f"{ST}.norm.logpdf(a, b, c)", A(3, 4), A(4), S("pos")),
        spec(f"{ST}.norm.logpdf(a, loc=b, scale=c)", S(), A(3, 1), A(4, dom="pos")),
        spec(f"{ST}.norm.pdf(a, b, c)", A(3, 4), A(3, 1), A(4, dom="pos")),
        spec(f"{ST}.norm.cdf(a, b, c)", A(3, 4), A(3, 1), A(4, dom="pos")),
        spec(f"{ST}.norm.logcdf(a, b, c)", A(3, 4), A(3, 1), A(4, dom="pos")),
        spec(f"{ST}.norm.logcdf(a)", S(), name="norm.logcdf scalar"),
        spec(f"{ST}.t.logpdf(a, b, c, u)", A(3, 4), A(4, dom="gt1"), S(), S("pos")),
        spec(f"{ST}.t.logpdf(a, 3.0)", A(3, 4)),
        spec(f"{ST}.t.logpdf(a, df=b)", S(), S("gt1"), name="t.logpdf scalars"),
        spec(f"{ST}.gamma.logpdf(a, b)", A(3, 4, dom="pos"), A(4, dom="pos")),
        spec(f"{ST}.gamma.logpdf(a, b, c - 1.0, u)", A(3, 4, dom="pos"), A(4, dom="gt1"),
             S("unit"), S("pos")),
        spec(f"{ST}.beta.logpdf(a, b, c)", A(3, 4, dom="prob"), A(4, dom="pos"), S("pos")),
        spec(f"{ST}.beta.logpdf(a, b, c, 0.1 * u, 1.0 + 0.1 * v)", A(3, 4, dom="prob"),
             A(4, dom="pos"), S("pos"), S("unit"), S("pos")),
        spec(f"{ST}.poisson.logpmf(np.array([0.0, 1.0, 3.0, 2.0]), a)", A(3, 4, dom="pos")),
        spec(f"{ST}.poisson.logpmf(np.array([[2.0], [5.0]]), a, 1)", A(3, dom="pos")),
        spec(f"{ST}.multivariate_normal.logpdf(a, b, c)", A(5, 3), A(3), SPD),
        spec(f"{ST}.multivariate_normal.logpdf(a, b, c)", A(3), A(3), SPD,
             name="multivariate_normal.logpdf one point"),
        spec(f"{ST}.multivariate_normal.logpdf(a, cov=b)", A(4, 3), SPD),
        spec(f"{ST}.multivariate_normal.logpdf(a, b)", A(4, 3), A(3),
             name="multivariate_normal.logpdf cov=1"),
        spec(f"{ST}.multivariate_normal.logpdf(a, b, c)", A(4, 3), A(3), A(3, dom="pos"),
             name="multivariate_normal.logpdf diagonal cov"),
        spec(f"{ST}.multivariate_normal.logpdf(a, b, c)", A(2, 3), A(3), S("pos"),
             name="multivariate_normal.logpdf scalar cov"),
        spec(f"{ST}.multivariate_normal.logpdf(a, b, c)", A(4), A(1), A(1, 1, dom="spd"),
             name="multivariate_normal.logpdf in one dimension"),
        spec(f"{ST}.multivariate_normal.pdf(a, b, c)", A(4, 2), A(2), A(2, 2, dom="spd")),
        spec(f"{ST}.dirichlet.logpdf(a, b)", A(3, dom="subsimplex"), A(4, dom="pos")),
        spec(f"{ST}.dirichlet.logpdf(a, b)", A(2, 5, dom="subsimplex"), A(3, dom="pos"),
             name="dirichlet.logpdf points"),
        spec(f"{ST}.dirichlet.logpdf(np.array([0.2, 0.3, 0.5]), a)", A(3, dom="pos")),
        # scipy.linalg
        spec(f"{LA}.solve(a, b)", A(3, 3, dom="mat"), A(3)),
        spec(f"{LA}.solve(a, b)", A(3, 3, dom="mat"), A(3, 2), name="solve matrix b"),
        spec(f"{LA}.solve(a, b, assume_a='sym')", A(3, 3, dom="mat"), A(3)),
        spec(f"{LA}.solve(a, b, lower=True, assume_a='pos')", SPD, A(3, 2)),
        spec(f"{LA}.solve(a, b, transposed=True)", A(3, 3, dom="mat"), A(3)),
        spec(f"{LA}.cho_solve({LA}.cho_factor(a), b)", SPD, A(3)),
        spec(f"{LA}.cho_solve((c, low), b)", SPD, A(3, 2),
             pre=(f"c, low = {LA}.cho_factor(a, lower=True)",)),
        spec(f"{LA}.cho_solve(f, b)", A(3, 3, dom="mat"), SPD, pre=(f"f = {LA}.cho_factor(b)",),
             name="cho_solve with respect to b only"),
        spec(f"{LA}.cho_factor(a)[0]", SPD),
        spec(f"{LA}.cho_factor(a, lower=True)[0]", SPD, name="cho_factor lower"),
        spec(f"{LA}.solve_triangular(a, b)", A(3, 3, dom="mat"), A(3)),
        spec(f"{LA}.solve_triangular(a, b, lower=True)", A(3, 3, dom="mat"), A(3, 2)),
        spec(f"{LA}.solve_triangular(a, b, trans=1)", A(3, 3, dom="mat"), A(3)),
        spec(f"{LA}.solve_triangular(a, b, trans='T', lower=True, unit_diagonal=True)",
             A(3, 3, dom="mat"), A(3, 2)),
        spec(f"{LA}.expm(a)", A(3, 3)),
        spec(f"{LA}.expm(a)", A(2, 3, 3), name="expm stack"),
        spec("w", SYM, pre=(f"w, v = {LA}.eigh(a)",)),
        spec("v", SYM, pre=(f"w, v = {LA}.eigh(a)",), name="eigh vectors"),
        # (the product of two rows does not depend on the eigenvectors' signs, which the
        # finite differences of this driver may flip)
        spec(f"{LA}.eigh(a, lower=False)[1] * {LA}.eigh(a, lower=False)[1][0]", SYM),
        spec(f"{LA}.eigh(a, eigvals_only=True)", SYM),
        spec(f"{LA}.eigvalsh(a)", A(4, 4, dom="sym")),
    ]
)
IDS = [s.name for s in SPECS]
TABLE = tr.Table(SPECS, "generated_scipy_rule_wrappers",
                 "import math\nimport operator\n\nimport numpy as np\nimport scipy.linalg\n"
                 "import scipy.special\nimport scipy.stats")
MODES = tr.MODES


@pytest.fixture(scope="module")
def wrappers(tmp_path_factory):
    return TABLE.build(tmp_path_factory)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("i", quick_every(range(len(SPECS)), 50), ids=IDS)
def test_rule_matches_fd(wrappers, i, mode):
    TABLE.check_fd(wrappers, i, mode)


@pytest.mark.parametrize("i", range(len(SPECS)), ids=IDS)
def test_rule_with_a_zero_adjoint(wrappers, i):
    TABLE.check_zero_adjoint(wrappers, i)


@pytest.mark.parametrize("i", range(len(SPECS)), ids=IDS)
def test_second_derivatives(wrappers, i):
    TABLE.check_second(wrappers, i)


@pytest.mark.parametrize("i", range(len(SPECS)), ids=IDS)
def test_second_derivative_by_reverse_over_reverse(wrappers, i):
    TABLE.check_reverse_over_reverse(wrappers, i)


F32 = TABLE.f32_cases()


@pytest.mark.parametrize("i", F32, ids=[IDS[i] for i in F32])
def test_float32_derivatives_stay_float32(wrappers, i, monkeypatch):
    TABLE.check_float32(wrappers, i, monkeypatch)


@pytest.mark.quick
def test_every_scipy_rule_has_a_spec(wrappers):
    applied = set()
    for i in range(len(SPECS)):
        applied |= tr._applied_rules(getattr(wrappers, f"f_{i}"))
    table = [registry.lookup(f) for f in scipy_rules.REGISTERED]
    table = [r for r in table if r.name.startswith("scipy.")]
    assert len(table) >= 35
    missing = sorted(r.name for r in table if id(r) not in applied)
    assert not missing, f"SciPy rules without a spec: {missing}"


# ---- the helpers' rules: transposes of each other -----------------------------------------------
RNG = np.random.default_rng(7)
M33 = RNG.standard_normal((3, 3))
HELPER_ARGS = {
    "mvn_cov": [(M33, 3), (RNG.standard_normal(3), 3), (1.5, 3)],
    "mvn_cov_back": [(M33, M33, 3), (M33, np.ones(3), 3), (M33, 2.0, 3)],
    "dirichlet_dx": [(RNG.standard_normal((2, 4)), np.ones((2, 4)), np.ones(3)),
                     (RNG.standard_normal(3), np.ones(3), np.ones(3))],
    "dirichlet_dx_back": [(RNG.standard_normal((3, 4)), np.ones((2, 4)), np.ones(3)),
                          (RNG.standard_normal(3), np.ones(3), np.ones(3))],
    "tri_factor": [(M33, True), (M33, False)],
    "tri_factor_back": [(M33, True), (M33, False)],
    "tri_op_linear": [(M33, t, lo, u) for t in (0, 1, "T") for lo in (True, False)
                      for u in (True, False)],
    "tri_op_back": [(M33, t, lo, u) for t in (0, "N", 1) for lo in (True, False)
                    for u in (True, False)],
    "other_part": [(M33, True), (M33, False)],
    "cho_pair": [(M33, (M33, True))],
    "solve_matrix": [(M33, np.ones(3), lo, kind, tp) for lo in (True, False)
                     for kind in (None, "sym", "pos") for tp in (True, False)],
    "solve_matrix_back": [(M33, M33, lo, kind, tp) for lo in (True, False)
                          for kind in (None, "gen", "her") for tp in (True, False)],
    "eigh_input": [(M33, True, None, 1, None, None), (M33, False, None, 1, None, None)],
}


def test_helper_rules_are_transposes():
    """The linear helpers' adjoint and tangent templates are transposes of each other, at
    every option (eigh_part and eigh_unpart, which pick and place a part of a pair, below)."""
    assert sorted([*HELPER_ARGS, "eigh_part", "eigh_unpart"]) == \
        sorted(p.split(".", 1)[1] for p in scipy_rules.LINEAR_HELPERS)
    rng = np.random.default_rng(11)
    for name, cases in HELPER_ARGS.items():
        helper = getattr(runtime, name)
        rule = registry.lookup(helper)
        for args in cases:
            assert tr.assert_transposes(rule, args, helper(*args), rng) >= 1, name


def test_eigh_part_rules_pick_and_place():
    w, v = RNG.standard_normal(3), RNG.standard_normal((3, 3))
    pair = registry.lookup(runtime.eigh_part)
    assert tr._evaluate(pair.tangent["g"], {"d_g": (w, v), "i": 1, "eigvals_only": False}) is v
    assert tr._evaluate(pair.adjoint["g"], {"d_y": v, "i": 1, "eigvals_only": False}) == \
        (0.0, v)
    assert tr._evaluate(pair.adjoint["g"], {"d_y": w, "i": 0, "eigvals_only": True}) is w
    assert tr._evaluate(pair.adjoint["g"], {"d_y": w, "i": 1, "eigvals_only": True}) == 0.0
    place = registry.lookup(runtime.eigh_unpart)
    assert tr._evaluate(place.adjoint["g"], {"d_y": (w, v), "i": 0, "eigvals_only": False}) \
        is w
    assert tr._evaluate(place.tangent["g"], {"d_g": w, "i": 0, "eigvals_only": False}) == \
        (w, 0.0)


def test_expm_frechet_rules_are_transposes():
    """expm's Frechet derivative L(a, e): the adjoint in e is L(a^T, g); the one in a
    (the second-order block exponential) is the transpose of the tangent in a."""
    rule = registry.lookup(runtime.expm_frechet)
    a, e = 0.5 * RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))
    assert tr.assert_transposes(rule, (a, e), runtime.expm_frechet(a, e),
                                np.random.default_rng(2)) == 2


def full_point(x, alpha):
    return scipy.stats.dirichlet.logpdf(x, alpha)


# ---- conventions derived by hand ----------------------------------------------------------------
def test_dirichlet_full_point_has_the_formula_partials():
    """For x with all K entries (on the simplex, where finite differences cannot go), the
    gradient is that of the formula: (alpha - 1) / x, and for alpha the digamma terms."""
    x = np.array([0.2, 0.3, 0.5])
    alpha = np.array([1.5, 2.0, 3.0])
    expected_x = (alpha - 1.0) / x
    expected_alpha = (np.log(x) + scipy.special.digamma(alpha.sum())
                      - scipy.special.digamma(alpha))
    for mode in MODES:
        gx, ga = sourcediff.grad(full_point, wrt=(0, 1), mode=mode)(x, alpha)
        np.testing.assert_allclose(gx, expected_x, rtol=1e-12)
        np.testing.assert_allclose(ga, expected_alpha, rtol=1e-12)


# ---- user rules for distribution methods --------------------------------------------------------
def expon_total(x):
    return np.sum(scipy.stats.expon.logpdf(x) * np.array([1.0, 2.0, 3.0]))


def _expon_adjoint(y, x):
    d[x] = -d[y] * np.ones_like(x)  # noqa: F821  (a template: d[...] is sourcediff's)


def _expon_tangent(y, x):
    d[y] = -d[x]  # noqa: F821


def test_user_rules_for_a_distribution_method():
    """@sourcediff.adjoint / @sourcediff.tangent on `scipy.stats.expon.logpdf` (a new bound
    method object at every read) register a rule the next read finds."""
    key = registry._key(scipy.stats.expon.logpdf)
    assert registry.lookup(scipy.stats.expon.logpdf) is None
    try:
        sourcediff.adjoint(scipy.stats.expon.logpdf)(_expon_adjoint)
        sourcediff.tangent(scipy.stats.expon.logpdf)(_expon_tangent)
        x = np.array([0.5, 1.0, 2.0])
        for mode in MODES:
            got = sourcediff.grad(expon_total, mode=mode)(x)
            np.testing.assert_allclose(got, [-1.0, -2.0, -3.0])
    finally:
        registry.RULES.pop(key, None)


# ---- what stays refused -------------------------------------------------------------------------
def zeta(x):
    return np.sum(scipy.special.zeta(x + 2.0, 2.0))


def norm_ppf(x):
    return np.sum(scipy.stats.norm.ppf(x))


def logsumexp_sign(x):
    return scipy.special.logsumexp(x, return_sign=True)[0]


def eigh_generalized(x):
    w = scipy.linalg.eigh(np.diag(x) + 2.0 * np.eye(3), np.eye(3) * 2.0, eigvals_only=True)
    return np.sum(w)


def solve_diagonal_kind(x):
    return np.sum(scipy.linalg.solve(np.diag(x) + np.eye(3), x, assume_a="diagonal"))


def mvn_covariance_object(x):
    cov = scipy.stats.Covariance.from_diagonal(np.array([1.0, 2.0, 3.0]))
    return scipy.stats.multivariate_normal.logpdf(x, np.zeros(3), cov)


def frozen_distribution(x):
    return np.sum(scipy.stats.norm(0.0, 2.0).logpdf(x))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func, needle", [
    (zeta, "scipy.special.zeta"),
    (norm_ppf, "scipy.stats.norm.ppf"),
    (logsumexp_sign, "return_sign"),
    (eigh_generalized, "b=..."),
    (solve_diagonal_kind, "assume_a"),
    (mvn_covariance_object, "Covariance"),
], ids=lambda v: getattr(v, "__name__", None))
def test_calls_without_a_rule_are_refused(func, needle, mode):
    with pytest.raises(MissingRuleError) as info:
        sourcediff.grad(func, mode=mode)(np.array([0.3, 0.5, 0.2]))
    assert needle in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_frozen_distribution_made_inside_is_differentiated(mode):
    """`norm(0.0, 2.0).logpdf(x)`: a method of a value made inside the function goes through
    the distribution's own rule; d/dx of sum(log N(x; 0, 2^2)) is -x / 4."""
    x = np.array([0.3, 0.5, 0.2])
    got = sourcediff.grad(frozen_distribution, mode=mode)(x)
    np.testing.assert_allclose(got, -x / 4.0, rtol=1e-12)


# ---- SciPy stays optional -----------------------------------------------------------------------
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code):
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_sourcediff_does_not_import_scipy():
    out = _run("""
        import sys
        import sourcediff
        from sourcediff import runtime
        print('scipy' in sys.modules, runtime.scipy_helpers,
              [m.__name__ for m in runtime.MODULES if 'scipy' in m.__name__])
    """)
    assert out.split() == ["False", "None", "[]"]


def test_without_scipy_nothing_is_registered_and_the_listing_is_the_same(tmp_path):
    (tmp_path / "plain.py").write_text(
        "import numpy as np\n\n\ndef f(x):\n    return np.sum(np.sin(x) ** 2)\n")
    listing = _run("""
        from sourcediff.rules import rule_listing
        for name, modes in rule_listing():
            print(name, *modes)
    """)
    blocked = _run(f"""
        import sys
        sys.modules['scipy'] = None     # `import scipy` raises ImportError
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np
        import plain
        import sourcediff
        from sourcediff import runtime
        from sourcediff.rules import registry, rule_listing
        from sourcediff.rules import scipy as scipy_rules

        assert abs(sourcediff.grad(plain.f)(0.5) - np.sin(1.0)) < 1e-12
        assert not scipy_rules.load() and not scipy_rules.REGISTERED
        assert runtime.scipy_helpers is None
        assert not [m for m in runtime.MODULES if 'scipy' in m.__name__]
        assert not [r for r in registry.RULES.values() if r.name.startswith('scipy.')]
        for name, modes in rule_listing():
            print(name, *modes)
    """)
    loaded = _run("""
        from sourcediff.rules import rule_listing
        from sourcediff.rules import scipy as scipy_rules
        assert scipy_rules.load()
        for name, modes in rule_listing():
            print(name, *modes)
    """)
    assert blocked == listing == loaded
    assert "scipy.stats.norm.logpdf reverse forward" in listing
    assert "sourcediff.runtime.mvn_cov reverse forward" in listing
