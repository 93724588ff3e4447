"""End-to-end models written the way people write them with SciPy, differentiated in both modes,
optimized and not, against central finite differences; Hessian-vector products against
differences of the gradient; and `sourcediff export` of a model that calls SciPy.

Skipped when SciPy is not installed.
"""

import importlib.util
import sys

import numpy as np
import pytest
from conftest import quick_every

pytest.importorskip("scipy")
import scipy.linalg  # noqa: E402
import scipy.special  # noqa: E402
import scipy.stats  # noqa: E402
from fd import assert_close, central_fd  # noqa: E402
from scipy.special import expit, log_softmax, logsumexp, xlog1py, xlogy  # noqa: E402
from scipy.stats import norm  # noqa: E402

import sourcediff  # noqa: E402
from sourcediff.export import export_source  # noqa: E402


# ---- the models ---------------------------------------------------------------------------------
def gp_negative_log_marginal_likelihood(theta, x, y):
    """A Gaussian process with a squared-exponential kernel: theta = log (length scale, signal
    scale, noise scale)."""
    ell, sf, sn = np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2])
    d = x[:, None] - x[None, :]
    K = sf ** 2 * np.exp(-0.5 * d ** 2 / ell ** 2) + (sn ** 2 + 1e-6) * np.eye(len(x))
    c, low = scipy.linalg.cho_factor(K, lower=True)
    alpha = scipy.linalg.cho_solve((c, low), y)
    log_det = 2.0 * np.sum(np.log(np.diag(c)))
    return 0.5 * y @ alpha + 0.5 * log_det + 0.5 * len(x) * np.log(2.0 * np.pi)


def logistic_regression(w, X, y, lam):
    """Binary logistic loss through expit, with a smooth (logsumexp) max-penalty on w."""
    p = expit(X @ w)
    nll = -np.sum(xlogy(y, p) + xlog1py(1.0 - y, -p))
    return nll / len(y) + lam * logsumexp(np.abs(w) * 4.0) / 4.0


def softmax_regression(W, X, labels):
    """Multinomial logistic regression: the log-partition by logsumexp over classes."""
    logits = X @ W
    total = np.sum(logsumexp(logits, axis=1))
    for i in range(len(labels)):
        total = total - logits[i, labels[i]]
    return total / len(labels)


def gaussian_mixture_nll(params, x):
    """A 1-d Gaussian mixture: params = (weight logits, means, log scales), the mixture
    log-density by logsumexp over components."""
    k = len(params) // 3
    log_w = log_softmax(params[:k])
    mu = params[k:2 * k]
    sigma = np.exp(params[2 * k:])
    comp = norm.logpdf(x[:, None], mu[None, :], sigma[None, :]) + log_w[None, :]
    return -np.sum(logsumexp(comp, axis=1))


def student_t_regression(beta, X, y, log_df):
    """Robust regression: Student-t residuals with a learned degrees-of-freedom."""
    resid = y - X @ beta
    return -np.sum(scipy.stats.t.logpdf(resid, np.exp(log_df) + 1.0, 0.0, 0.5))


def mvn_with_cholesky_factor(L_raw, mean, x):
    """A multivariate normal parameterized by an unconstrained lower-triangular factor, its
    log-density by a triangular solve (and checked against scipy.stats.multivariate_normal)."""
    L = np.tril(L_raw) + 2.0 * np.eye(len(mean))
    z = scipy.linalg.solve_triangular(L, (x - mean).T, lower=True)
    log_det = np.sum(np.log(np.abs(np.diag(L))))
    mine = -0.5 * np.sum(z * z) - x.shape[0] * log_det
    theirs = np.sum(scipy.stats.multivariate_normal.logpdf(x, mean, L @ L.T))
    return mine + theirs


def relu_entropy(x):
    """An entropy of rectified weights: x log x is 0 at 0, where its partials are infinite
    (log 0) or 0/0; the rectifier's zero adjoint wins there (the gradient is 0, not nan)."""
    p = np.maximum(x, 0.0)
    return -np.sum(xlogy(p, p + 0.5 * p)) + np.sum(xlog1py(p, p * p)) + np.sum(x * x)


# ---- data ---------------------------------------------------------------------------------------
RNG = np.random.default_rng(16)
X_GP = np.linspace(0.0, 2.0, 6)
Y_GP = np.sin(3.0 * X_GP) + 0.1 * RNG.standard_normal(6)
X_LR = RNG.standard_normal((12, 3))
Y_LR = (RNG.uniform(size=12) < expit(X_LR @ np.array([1.0, -2.0, 0.5]))).astype(float)
LABELS = RNG.integers(0, 4, 10)
X_SM = RNG.standard_normal((10, 3))
X_MIX = np.concatenate([RNG.normal(-1.0, 0.5, 8), RNG.normal(1.5, 0.8, 8)])
X_T = RNG.standard_normal((9, 2))
Y_T = X_T @ np.array([0.7, -1.1]) + 0.3 * RNG.standard_t(3.0, 9)
X_MVN = RNG.standard_normal((5, 3))

CASES = [
    (gp_negative_log_marginal_likelihood, (np.array([-0.3, 0.2, -1.5]), X_GP, Y_GP), (0, 1)),
    (logistic_regression, (np.array([0.3, -0.8, 0.1]), X_LR, Y_LR, 0.3), (0, 3)),
    (softmax_regression, (0.3 * RNG.standard_normal((3, 4)), X_SM, LABELS), (0, 1)),
    (gaussian_mixture_nll, (np.array([0.2, -0.1, -1.0, 1.2, -0.5, -0.2]), X_MIX), (0, 1)),
    (student_t_regression, (np.array([0.5, -0.9]), X_T, Y_T, 0.4), (0, 3)),
    (mvn_with_cholesky_factor, (0.3 * RNG.standard_normal((3, 3)), np.array([0.1, -0.2, 0.3]),
                                X_MVN), (0, 1, 2)),
    (relu_entropy, (np.array([0.6, -0.8, 1.3, -0.2]),), 0),
]
IDS = [c[0].__name__ for c in CASES]


@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "plain"])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("func, args, wrt", quick_every(CASES, 8, unpack=True), ids=IDS)
def test_model_gradient_matches_fd(func, args, wrt, mode, optimize):
    got = sourcediff.grad(func, wrt=wrt, mode=mode, optimize=optimize)(*args)
    assert_close(got, central_fd(func, list(args), wrt), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("func, args, wrt", CASES, ids=IDS)
def test_model_hessian_vector_product(func, args, wrt):
    """hvp with respect to the first argument against central differences of the gradient."""
    x = args[0]
    rest = args[1:]
    v = np.random.default_rng(3).standard_normal(np.shape(x))
    got = sourcediff.hvp(func)(x, *rest, v)
    grad = sourcediff.grad(func)
    h = 1e-5
    expected = (grad(x + h * v, *rest) - grad(x - h * v, *rest)) / (2 * h)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_export_of_a_scipy_model(tmp_path, mode):
    """The exported gradient imports SciPy itself and gives sourcediff.grad's numbers."""
    func, args, _ = CASES[0]
    text, public = export_source(func, mode=mode)
    assert "import scipy.linalg" in text and "needs only numpy, math and scipy" in text
    path = tmp_path / f"exported_gp_{mode}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    got = getattr(module, public)(*args)
    np.testing.assert_allclose(got, sourcediff.grad(func, mode=mode)(*args), rtol=1e-12)
    assert "sourcediff" not in "".join(line for line in text.splitlines()
                                       if line.startswith(("import", "from")))


def test_export_copies_scipy_helpers_with_their_imports(tmp_path):
    """A gradient whose helpers call SciPy (gammaln's derivative is digamma) exports them."""
    text, public = export_source(mixture_with_gammaln)
    assert "import scipy.special" in text and "_sd_digamma = scipy.special.digamma" in text
    namespace = {}
    exec(compile(text, "<export>", "exec"), namespace)
    x = np.array([0.5, 1.5, 2.5])
    np.testing.assert_allclose(namespace[public](x), sourcediff.grad(mixture_with_gammaln)(x),
                               rtol=1e-12)


def mixture_with_gammaln(x):
    return np.sum(scipy.special.gammaln(x + 1.0) * scipy.special.expit(x))
