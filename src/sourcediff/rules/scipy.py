"""Rules for SciPy: scipy.special, the scipy.stats distributions' log-densities, scipy.linalg.

SciPy stays optional, and importing sourcediff does not import it. The table below is data:
each rule names its function by its dotted path, and `load()` registers the whole table the
first time a lookup misses after SciPy has been imported (registry.lazy); without SciPy nothing
is registered. The listing (`sourcediff rules`, docs/rules.md) comes from the declarations, so
it is the same with or without SciPy.

`scipy.stats.norm.logpdf` and the other distribution methods are bound methods of the
distribution objects: the registry keys them by instance and method name. The templates call
NumPy, the runtime helpers (`runtime/scipy_helpers.py`, and `runtime/numpy_*.py`) and a
few SciPy functions through `_sd` (`_sd.digamma` is scipy.special.digamma itself), so generated
derivative code can be differentiated again with these same rules: every rule here has second
derivatives (hessian, hvp, jvp of grad, grad of grad).

Conventions:
* distributions: derivatives with respect to x, loc, scale and the shape parameters (df, a, b;
  poisson's rate mu; dirichlet's alpha), inside the support; poisson's k is data.
* functions that read one triangle of a symmetric matrix (multivariate_normal's cov, eigh, solve
  with assume_a='sym'/'pos', cho_factor) have their gradient in that triangle, as
  np.linalg.cholesky.
* cho_factor's result (c, lower) holds the factor in one triangle and a's own entries in the
  other: the derivative of c follows both.
* eigenvectors need distinct eigenvalues.
"""

from __future__ import annotations

from .registry import _signature, declare, lazy, nondifferentiable, partial_templates
from .registry import rule as _register

TABLE = []        # (path, signature, adjoint, tangent, static, elementwise)
NONDIFFERENTIABLE = []   # paths of helpers whose outputs carry no derivative
REGISTERED = []   # the functions load() registered (tests/test_rules_scipy.py checks them)
LINEAR_HELPERS = []   # runtime helpers whose rules are transposes of each other (tested)


def _display(path):
    return "sourcediff." + path if path.startswith("runtime.") else path


def rule(path, sig, *, adjoint, tangent, unsupported=(), elementwise=False, linear=False):
    """Declare the rule for the function at `path`; parameters without a template are static
    (options, shapes) except the `unsupported` ones (an error when they are active)."""
    params, _ = _signature(sig)
    static = tuple(p for p in params
                   if p not in adjoint and p not in tangent and p not in unsupported)
    TABLE.append((path, sig, dict(adjoint), dict(tangent), static, elementwise))
    if linear:
        LINEAR_HELPERS.append(path)
    declare(_display(path), adjoint, tangent)


def elementwise(path, sig, steep=(), **partials):
    """An elementwise function with the partial derivative `partials[p]` for each p;
    `steep` as in `registry.elementwise`."""
    adjoint, tangent = partial_templates(partials, steep)
    rule(path, sig, elementwise=True, adjoint=adjoint, tangent=tangent)


def nondiff(*paths):
    for path in paths:
        NONDIFFERENTIABLE.append(path)
        declare(_display(path), nondifferentiable=True)


def _resolve(path):
    import scipy.linalg
    import scipy.special
    import scipy.stats

    from .. import runtime
    head, *parts = path.split(".")
    obj = {"scipy": scipy, "runtime": runtime}[head]
    for part in parts:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def load():
    """Register the table (once; nothing without SciPy). Returns whether SciPy is there."""
    from .. import runtime
    if not runtime.load_scipy():
        return False
    if REGISTERED:
        return True
    for path, sig, adjoint, tangent, static, is_elementwise in TABLE:
        func = _resolve(path)
        if func is None:     # this SciPy version does not have it
            continue
        _register(func, sig, adjoint=adjoint, tangent=tangent, static=static,
                  name=_display(path), elementwise=is_elementwise)
        REGISTERED.append(func)
    found = [(p, _resolve(p)) for p in NONDIFFERENTIABLE]
    nondifferentiable(*[f for _, f in found if f is not None],
                      names=[_display(p) for p, f in found if f is not None])
    return True


# ---- scipy.special ------------------------------------------------------------------------------
elementwise("scipy.special.expit", "x", x="y * (1.0 - y)")
elementwise("scipy.special.log_expit", "x", x="_sd.expit(-x)")
elementwise("scipy.special.logit", "x", x="1.0 / (x * (1.0 - x))")
elementwise("scipy.special.gammaln", "x", x="_sd.digamma(x)")
elementwise("scipy.special.gamma", "x", x="y * _sd.digamma(x)")
elementwise("scipy.special.digamma", "x", x="_sd.polygamma(1, x)")   # also scipy.special.psi
# (n, like poisson's k below, may broadcast the result: these undo broadcasting themselves)
rule("scipy.special.polygamma", "n, x",
     adjoint={"x": "_sd.unbroadcast(d[y] * _sd.polygamma(n + 1, x), x)"},
     tangent={"x": "d[x] * _sd.polygamma(n + 1, x)"})
elementwise("scipy.special.erf", "x", x="1.1283791670955126 * np.exp(-x * x)")
elementwise("scipy.special.erfc", "x", x="-1.1283791670955126 * np.exp(-x * x)")
elementwise("scipy.special.erfinv", "x", x="0.886226925452758 * np.exp(y * y)")
elementwise("scipy.special.ndtr", "x", x="0.3989422804014327 * np.exp(-0.5 * x * x)")
elementwise("scipy.special.ndtri", "x", x="2.5066282746310002 * np.exp(0.5 * y * y)")
# log Phi(x): phi(x) / Phi(x), as exp(log phi - log Phi) (stable far in the left tail)
elementwise("scipy.special.log_ndtr", "x", x="np.exp(-0.5 * x * x - 0.9189385332046727 - y)")
# (the parameters are x1, x2: `y` names the output in templates)
elementwise("scipy.special.xlogy", "x1, x2", steep="x1, x2", x1="np.log(x2)", x2="x1 / x2")
elementwise("scipy.special.xlog1py", "x1, x2", steep="x1, x2",
            x1="np.log1p(x2)", x2="x1 / (1.0 + x2)")
elementwise("scipy.special.betaln", "a, b", a="_sd.digamma(a) - _sd.digamma(a + b)",
            b="_sd.digamma(b) - _sd.digamma(a + b)")

# logsumexp(a, axis, b, keepdims) = log sum(b exp(a)): the weights are b exp(a - y), y spread
# back over the reduced axes
_LSE_Y = "_sd.unreduce(y, _sd.lse_like(a, b), axis, keepdims)"
_LSE_G = "_sd.unreduce(d[y], _sd.lse_like(a, b), axis, keepdims)"
_LSE_E = f"np.exp(a - {_LSE_Y})"
rule("scipy.special.logsumexp", "a, axis=None, b=None, keepdims=False",
     adjoint={"a": f"_sd.unbroadcast({_LSE_G} * {_LSE_E} * _sd.or_one(b), a)",
              "b": f"_sd.unbroadcast({_LSE_G} * {_LSE_E}, b)"},
     tangent={"a": f"np.sum({_LSE_E} * _sd.or_one(b) * d[a], axis=axis, keepdims=keepdims)",
              "b": f"np.sum({_LSE_E} * d[b], axis=axis, keepdims=keepdims)"})
rule("scipy.special.softmax", "x, axis=None",
     adjoint={"x": "y * (d[y] - np.sum(d[y] * y, axis=axis, keepdims=True))"},
     tangent={"x": "y * (d[x] - np.sum(y * d[x], axis=axis, keepdims=True))"})
rule("scipy.special.log_softmax", "x, axis=None",
     adjoint={"x": "_sd.dense(d[y], y) - np.exp(y) * np.sum(_sd.dense(d[y], y), axis=axis, "
                   "keepdims=True)"},
     tangent={"x": "d[x] - np.sum(np.exp(y) * d[x], axis=axis, keepdims=True)"})

# ---- scipy.stats: log-densities of the distribution objects, with z = (x - loc) / scale --------
_Z = "((x - loc) / scale)"
elementwise("scipy.stats.norm.logpdf", "x, loc=0.0, scale=1.0",
            x=f"-{_Z} / scale", loc=f"{_Z} / scale", scale=f"({_Z} * {_Z} - 1.0) / scale")
elementwise("scipy.stats.norm.pdf", "x, loc=0.0, scale=1.0",
            x=f"-y * {_Z} / scale", loc=f"y * {_Z} / scale",
            scale=f"y * ({_Z} * {_Z} - 1.0) / scale")
_PHI = f"(0.3989422804014327 * np.exp(-0.5 * {_Z} * {_Z}) / scale)"
elementwise("scipy.stats.norm.cdf", "x, loc=0.0, scale=1.0",
            x=_PHI, loc=f"-{_PHI}", scale=f"-{_PHI} * {_Z}")
_DLOGCDF = f"(np.exp(-0.5 * {_Z} * {_Z} - 0.9189385332046727 - y) / scale)"
elementwise("scipy.stats.norm.logcdf", "x, loc=0.0, scale=1.0",
            x=_DLOGCDF, loc=f"-{_DLOGCDF}", scale=f"-{_DLOGCDF} * {_Z}")
# Student's t: log p = gammaln((df + 1) / 2) - gammaln(df / 2) - log(df pi) / 2 - log(scale)
#                      - (df + 1) / 2 log(1 + z^2 / df)
_Q = f"(df + {_Z} * {_Z})"
elementwise("scipy.stats.t.logpdf", "x, df, loc=0.0, scale=1.0",
            x=f"-(df + 1.0) * {_Z} / ({_Q} * scale)",
            loc=f"(df + 1.0) * {_Z} / ({_Q} * scale)",
            scale=f"((df + 1.0) * {_Z} * {_Z} / {_Q} - 1.0) / scale",
            df=f"0.5 * (_sd.digamma(0.5 * (df + 1.0)) - _sd.digamma(0.5 * df) - 1.0 / df - "
               f"np.log1p({_Z} * {_Z} / df) + (df + 1.0) * {_Z} * {_Z} / (df * {_Q}))")
# gamma: log p = (a - 1) log z - z - gammaln(a) - log(scale)
elementwise("scipy.stats.gamma.logpdf", "x, a, loc=0.0, scale=1.0",
            x=f"((a - 1.0) / {_Z} - 1.0) / scale", loc=f"(1.0 - (a - 1.0) / {_Z}) / scale",
            a=f"np.log({_Z}) - _sd.digamma(a)", scale=f"({_Z} - a) / scale")
# beta: log p = (a - 1) log z + (b - 1) log(1 - z) - betaln(a, b) - log(scale)
_DBETA = f"((a - 1.0) / {_Z} - (b - 1.0) / (1.0 - {_Z}))"
elementwise("scipy.stats.beta.logpdf", "x, a, b, loc=0.0, scale=1.0",
            x=f"{_DBETA} / scale", loc=f"-{_DBETA} / scale",
            a=f"np.log({_Z}) - _sd.digamma(a) + _sd.digamma(a + b)",
            b=f"np.log1p(-{_Z}) - _sd.digamma(b) + _sd.digamma(a + b)",
            scale=f"-({_Z} * {_DBETA} + 1.0) / scale")
# poisson: log p = (k - loc) log mu - mu - gammaln(k - loc + 1); the counts k are data
rule("scipy.stats.poisson.logpmf", "k, mu, loc=0",
     adjoint={"mu": "_sd.unbroadcast(d[y] * ((k - loc) / mu - 1.0), mu)"},
     tangent={"mu": "d[mu] * ((k - loc) / mu - 1.0)"})

# multivariate_normal: points X (n, d), R = X - mean, C the covariance scipy reads, P = C^-1,
# Q = R P; log p = -(d log 2 pi + log det C + sum(Q * R, 1)) / 2 for each point
_D = "_sd.mvn_dim(x, mean, cov)"
_X = f"np.reshape(x, (-1, {_D}))"
_C = f"_sd.mvn_cov(cov, {_D})"
_P = f"np.linalg.inv({_C})"
_MVN_Q = f"(({_X} - _sd.or_zero(mean)) @ {_P})"
_DC = f"_sd.mvn_cov(d[cov], {_D})"
for _name, _scale_g, _scale_t in (("logpdf", "", ""), ("pdf", " * y", "y * ")):
    _G = f"np.reshape(_sd.dense(d[y], y){_scale_g}, (-1, 1))"
    rule(f"scipy.stats.multivariate_normal.{_name}",
         "x, mean=None, cov=1, allow_singular=False",
         adjoint={"x": f"np.reshape(-({_G} * {_MVN_Q}), np.shape(x))",
                  "mean": f"_sd.unbroadcast(np.sum({_G} * {_MVN_Q}, axis=0), mean)",
                  "cov": f"_sd.mvn_cov_back(0.5 * (np.swapaxes({_MVN_Q}, 0, 1) @ ({_G} * "
                         f"{_MVN_Q}) - np.sum({_G}) * {_P}), cov, {_D})"},
         tangent={"x": f"{_scale_t}np.reshape(-np.sum({_MVN_Q} * np.reshape(d[x], (-1, {_D})),"
                       " axis=1), np.shape(y))",
                  "mean": f"{_scale_t}np.reshape(np.sum({_MVN_Q} * d[mean], axis=1), "
                          "np.shape(y))",
                  "cov": f"{_scale_t}np.reshape(0.5 * np.sum(({_MVN_Q} @ {_DC}) * {_MVN_Q}, "
                         f"axis=1) - 0.5 * np.sum({_P} * {_DC}), np.shape(y))"})

# dirichlet (x along axis 0: K entries, or K - 1 with the last one 1 - their sum):
# log p = gammaln(sum alpha) - sum gammaln(alpha) + sum (alpha - 1) log x
_DX = "_sd.dirichlet_x(x, alpha)"
_DA = "np.reshape(alpha, _sd.dirichlet_ashape(alpha, x))"
_DPSI = "np.reshape(_sd.digamma(alpha), _sd.dirichlet_ashape(alpha, x))"
rule("scipy.stats.dirichlet.logpdf", "x, alpha",
     adjoint={"x": f"_sd.dirichlet_dx_back(d[y] * ({_DA} - 1.0) / {_DX}, x, alpha)",
              "alpha": f"np.sum(d[y] * (np.log({_DX}) - {_DPSI} + "
                       "_sd.digamma(np.sum(alpha))), axis=_sd.dirichlet_point_axes(x))"},
     tangent={"x": f"np.reshape(np.sum(({_DA} - 1.0) / {_DX} * _sd.dirichlet_dx(d[x], x, "
                   "alpha), axis=0), np.shape(y))",
              "alpha": "np.reshape(np.sum(np.reshape(d[alpha], _sd.dirichlet_ashape(alpha, "
                       f"x)) * (np.log({_DX}) - {_DPSI}), axis=0) + "
                       "_sd.digamma(np.sum(alpha)) * np.sum(d[alpha]), np.shape(y))"})

# ---- scipy.linalg -------------------------------------------------------------------------------
# solve: M x = b with M what assume_a reads of a (transposed for transposed=True); with
# G = M^-T d[y]: d[b] = G, d[M] = -G x^T (columns for a vector b)
_M = "_sd.solve_matrix(a, b, lower, assume_a, transposed)"
_SOLVE_G = (f"np.linalg.solve(np.swapaxes({_M}, -1, -2), _sd.to_col(_sd.dense(d[y], y), {_M}, "
            "b))")
rule("scipy.linalg.solve",
     "a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True, "
     "assume_a=None, transposed=False",
     adjoint={"a": f"_sd.solve_matrix_back(-({_SOLVE_G} @ np.swapaxes(_sd.to_col(y, {_M}, b), "
                   "-1, -2)), a, lower, assume_a, transposed)",
              "b": f"_sd.unbroadcast(_sd.from_col({_SOLVE_G}, {_M}, b), b)"},
     tangent={"a": "_sd.solve_tangent_a(_sd.solve_matrix(_sd.dense(d[a], a), b, lower, "
                   f"assume_a, transposed), {_M}, b, y)",
              "b": f"_sd.solve_tangent_b(d[b], {_M}, b, y)"})
# cho_factor(a, lower) = (c, lower): with L the factor (c's triangle, as a lower factor) and
# dL its adjoint, the triangle read gets L^-T phi(L^T dL) L^-1 (as np.linalg.cholesky), the
# other triangle the adjoint of c there
_CF_C = "_sd.getitem(y, 0)"
_CF_G = "_sd.dense(_sd.getitem(d[y], 0), a)"
_CF_L = f"_sd.tri_factor({_CF_C}, lower)"
rule("scipy.linalg.cho_factor", "a, lower=False, overwrite_a=False, check_finite=True",
     adjoint={"a": f"_sd.swap_if(_sd.sym_lower(np.swapaxes(np.linalg.inv({_CF_L}), -1, -2) @ "
                   f"_sd.phi(np.swapaxes({_CF_L}, -1, -2) @ _sd.tri_factor({_CF_G}, lower)) @ "
                   f"np.linalg.inv({_CF_L})), _sd.not_flag(lower)) + "
                   f"_sd.other_part({_CF_G}, lower)"},
     tangent={"a": "_sd.cho_factor_tangent(d[a], y, lower)"})
# cho_solve((c, lower), b) = A^-1 b with A = L L^T: d[b] = A^-1 d[y] = Z and, with
# S = -(Z x^T + x Z^T), d[L] = S L, put into c's triangle
_CS_LOW = "_sd.getitem(c_and_lower, 1)"
_CS_L = f"_sd.tri_factor(_sd.getitem(c_and_lower, 0), {_CS_LOW})"
_CS_Z = "_sd.cho_solve(c_and_lower, _sd.dense(d[y], y))"
_CS_A = f"(_sd.to_col({_CS_Z}, {_CS_L}, b) @ np.swapaxes(_sd.to_col(y, {_CS_L}, b), -1, -2))"
_CS_DL = f"_sd.tri_factor(_sd.dense(_sd.getitem(d[c_and_lower], 0), {_CS_L}), {_CS_LOW})"
rule("scipy.linalg.cho_solve", "c_and_lower, b, overwrite_b=False, check_finite=True",
     adjoint={"c_and_lower": f"_sd.cho_pair(_sd.tri_factor_back(-(({_CS_A} + np.swapaxes("
                             f"{_CS_A}, -1, -2)) @ {_CS_L}), {_CS_LOW}), c_and_lower)",
              "b": _CS_Z},
     tangent={"c_and_lower": f"-_sd.cho_solve(c_and_lower, _sd.from_col(({_CS_DL} @ "
                             f"np.swapaxes({_CS_L}, -1, -2) + {_CS_L} @ np.swapaxes({_CS_DL}, "
                             f"-1, -2)) @ _sd.to_col(y, {_CS_L}, b), {_CS_L}, b))",
              "b": "_sd.cho_solve(c_and_lower, d[b])"})
# solve_triangular: op(T) x = b; with Z = op(T)^-T d[y]: d[b] = Z, d[T] = the triangle of
# -(Z x^T) (transposed for trans), without the diagonal for unit_diagonal
_ST_Z = ("_sd.solve_triangular(a, _sd.dense(d[y], y), _sd.flip_trans(trans), lower, "
         "unit_diagonal)")
rule("scipy.linalg.solve_triangular",
     "a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True",
     adjoint={"a": f"_sd.tri_op_back(-(_sd.to_col({_ST_Z}, a, b) @ np.swapaxes(_sd.to_col(y, a, "
                   "b), -1, -2)), trans, lower, unit_diagonal)",
              "b": _ST_Z},
     tangent={"a": "-_sd.solve_triangular(a, _sd.from_col(_sd.tri_op_linear(_sd.dense(d[a], a),"
                   " trans, lower, unit_diagonal) @ _sd.to_col(y, a, b), a, b), trans, lower, "
                   "unit_diagonal)",
              "b": "_sd.solve_triangular(a, d[b], trans, lower, unit_diagonal)"})
# expm: d[A] = L(A^T, d[y]), the Frechet derivative at A^T (block-triangular exponential)
rule("scipy.linalg.expm", "A",
     adjoint={"A": "_sd.expm_frechet(np.swapaxes(A, -1, -2), _sd.dense(d[y], y))"},
     tangent={"A": "_sd.expm_frechet(A, d[A])"})
# eigh (b=None) and eigvalsh: through np.linalg.eigh of the triangle read (its rule), with the
# eigenvectors' signs matched to the result's
_EH_A = ("_sd.eigh_input(a, lower, b, type, subset_by_index, subset_by_value)")
_EH_E = f"np.linalg.eigh({_EH_A})"
_EH_W = f"_sd.getitem({_EH_E}, 0)"
_EH_V = f"(_sd.getitem({_EH_E}, 1) * _sd.eigh_signs(_sd.getitem({_EH_E}, 1), y, eigvals_only))"
_EH_S = (f"{_EH_V} @ (np.expand_dims(_sd.dense(_sd.eigh_part(d[y], 0, eigvals_only), {_EH_W}), "
         f"-1) * _sd.eye_like({_EH_W}) + np.where(_sd.eye_mask({_EH_W}), 0.0, 1.0 / ("
         f"np.expand_dims({_EH_W}, -2) - np.expand_dims({_EH_W}, -1) + _sd.eye_mask({_EH_W})))"
         f" * (np.swapaxes({_EH_V}, -1, -2) @ _sd.dense(_sd.eigh_part(d[y], 1, eigvals_only), "
         f"{_EH_V}))) @ np.swapaxes({_EH_V}, -1, -2)")
for _name, _sig in (
        ("eigh", "a, b=None, lower=True, eigvals_only=False, overwrite_a=False, "
                 "overwrite_b=False, type=1, check_finite=True, subset_by_index=None, "
                 "subset_by_value=None, driver=None"),
        ("eigvalsh", "a, b=None, lower=True, overwrite_a=False, overwrite_b=False, type=1, "
                     "check_finite=True, subset_by_index=None, subset_by_value=None, "
                     "driver=None, eigvals_only=True")):
    rule(f"scipy.linalg.{_name}", _sig,
         adjoint={"a": f"_sd.sym_from_back(0.5 * ({_EH_S} + np.swapaxes({_EH_S}, -1, -2)), "
                       "lower)"},
         tangent={"a": "_sd.scipy_eigh_tangent(d[a], a, y, lower, eigvals_only, b, type, "
                       "subset_by_index, subset_by_value)"},
         unsupported=("b",))

# ---- the helpers the templates above call (for derivatives of generated code) ------------------
rule("runtime.or_one", "b", adjoint={"b": "d[y]"}, tangent={"b": "d[b]"})
rule("runtime.or_zero", "mean", adjoint={"mean": "d[y]"}, tangent={"mean": "d[mean]"})
# linear maps and their transposes
for _fwd, _back, _sig_fwd, _sig_back in (
        ("mvn_cov", "mvn_cov_back", "cov, dim", "g, cov, dim"),
        ("dirichlet_dx", "dirichlet_dx_back", "t, x, alpha", "g, x, alpha"),
        ("tri_factor", "tri_factor_back", "c, lower", "g, lower"),
        ("tri_op_linear", "tri_op_back", "t, trans=0, lower=False, unit_diagonal=False",
         "g, trans=0, lower=False, unit_diagonal=False"),
        ("eigh_part", "eigh_unpart", "g, i, eigvals_only=False", "g, i, eigvals_only=False")):
    _first_f, _first_b = _signature(_sig_fwd)[0][0], _signature(_sig_back)[0][0]
    _rest_f = ", ".join(p for p in _signature(_sig_fwd)[0][1:])
    _rest_b = ", ".join(p for p in _signature(_sig_back)[0][1:])
    rule(f"runtime.{_fwd}", _sig_fwd, linear=True,
         adjoint={_first_f: f"_sd.{_back}(d[y], {_rest_b})"},
         tangent={_first_f: f"_sd.{_fwd}(d[{_first_f}], {_rest_f})"})
    rule(f"runtime.{_back}", _sig_back, linear=True,
         adjoint={_first_b: f"_sd.{_fwd}(d[y], {_rest_f})"},
         tangent={_first_b: f"_sd.{_back}(d[{_first_b}], {_rest_b})"})
rule("runtime.dirichlet_x", "x, alpha",
     adjoint={"x": "_sd.dirichlet_dx_back(d[y], x, alpha)"},
     tangent={"x": "_sd.dirichlet_dx(d[x], x, alpha)"})
rule("runtime.other_part", "g, lower", linear=True,
     adjoint={"g": "_sd.other_part(d[y], lower)"},
     tangent={"g": "_sd.other_part(d[g], lower)"})
rule("runtime.cho_pair", "g, c_and_lower", linear=True,
     adjoint={"g": "_sd.getitem(d[y], 0)"},
     tangent={"g": "_sd.cho_pair(d[g], c_and_lower)"})
rule("runtime.solve_matrix", "a, b, lower=False, assume_a=None, transposed=False", linear=True,
     adjoint={"a": "_sd.solve_matrix_back(d[y], a, lower, assume_a, transposed)"},
     tangent={"a": "_sd.solve_matrix(d[a], b, lower, assume_a, transposed)"})
rule("runtime.solve_matrix_back", "g, a, lower=False, assume_a=None, transposed=False",
     linear=True,
     adjoint={"g": "_sd.solve_matrix(d[y], a, lower, assume_a, transposed)"},
     tangent={"g": "_sd.solve_matrix_back(d[g], a, lower, assume_a, transposed)"})
rule("runtime.eigh_input", "a, lower=True, b=None, type=1, subset_by_index=None, "
     "subset_by_value=None", linear=True,
     adjoint={"a": "_sd.sym_from_back(d[y], lower)"},
     tangent={"a": "_sd.eigh_input(d[a], lower, b, type, subset_by_index, subset_by_value)"})
# expm's Frechet derivative L(a, e): linear in e; in a, the second-order block exponential
rule("runtime.expm_frechet", "a, e",
     adjoint={"a": "_sd.expm_frechet2(np.swapaxes(a, -1, -2), np.swapaxes(e, -1, -2), "
                   "_sd.dense(d[y], y))",
              "e": "_sd.expm_frechet(np.swapaxes(a, -1, -2), _sd.dense(d[y], y))"},
     tangent={"a": "_sd.expm_frechet2(a, e, d[a])", "e": "_sd.expm_frechet(a, d[e])"})
nondiff("runtime.lse_like", "runtime.mvn_dim", "runtime.dirichlet_ashape",
        "runtime.dirichlet_point_axes", "runtime.not_flag", "runtime.flip_trans",
        "runtime.eigh_signs")

lazy("scipy", load)
