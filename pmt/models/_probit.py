"""One binary-choice engine: the probit (and logit) likelihood, scores, Hessian, a Newton
solver and one separation check, shared by :mod:`pmt.models.binary` and the selection
equation of :mod:`pmt.models.heckman`.

For an outcome ``y_i`` in {0, 1}, weights ``w_i`` and the index ``x_i'b``, write
``q_i = 2 y_i - 1``. The (pseudo-)log-likelihood is ``sum_i w_i log F(q_i x_i'b)`` with F
the standard normal CDF (probit) or the logistic CDF (logit); the score of observation i
is ``r_i x_i`` with the generalised residual ``r_i = q_i f(q_i x_i'b) / F(q_i x_i'b)``
(probit: ``q_i lambda(q_i x_i'b)``, lambda the inverse Mills ratio; logit:
``y_i - F(x_i'b)``), and the observed Hessian is ``-sum_i w_i h_i x_i x_i'`` with
``h_i = r_i (r_i + x_i'b)`` (probit) or ``F (1 - F)`` (logit). Everything is computed on
the log scale (``scipy.special.log_ndtr``) so that it stays finite far in the tails.

:func:`fit` maximises it by Newton-Raphson with step halving, from the constant-only
estimate. It is written here rather than taken from statsmodels (``Probit`` takes no
weights; ``GLM`` with ``var_weights`` reports the expected rather than the observed
information for the probit and does not say which regressor separates the outcome);
``tests/test_binary.py`` and ``tests/test_heckman.py`` check it against statsmodels.

:func:`check_separation` runs before every fit: a term on its own separating the
outcome (a 0/1 term whose ones, or zeros, all share one outcome; any other term split by
a threshold) has no finite maximum-likelihood coefficient and is named in one message.
Separation by a combination of terms shows in the fit (no convergence, or fitted
probabilities of exactly 0 or 1 with huge standardised coefficients) and raises with the
terms of the largest standardised coefficients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from pmt.errors import ModelError

__all__ = [
    "LOGIT",
    "PROBIT",
    "BinaryFit",
    "Link",
    "check_separation",
    "fit",
    "hessian",
    "inverse_mills",
    "inverse_mills_delta",
    "get_link",
    "loglike",
    "probit_fit",
    "score_obs",
    "separation",
]

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def inverse_mills(c: np.ndarray) -> np.ndarray:
    """lambda(c) = phi(c) / Phi(c), computed on the log scale so it is finite for c << 0."""
    c = np.asarray(c, dtype=float)
    return np.exp(-0.5 * c * c - _LOG_SQRT_2PI - special.log_ndtr(c))


#: Below this argument ``lambda(c) + c`` comes from its continued fraction (no cancellation).
_DELTA_TAIL = -5.0
#: Terms of that continued fraction: 40 give full double precision for c <= -5.
_DELTA_TERMS = 40


def inverse_mills_delta(c: np.ndarray) -> np.ndarray:
    """delta(c) = lambda(c) (lambda(c) + c) = -d lambda(c) / dc, in (0, 1).

    The slope of the inverse Mills ratio ``lambda(c) = phi(c) / Phi(c)`` (Greene's
    ``delta_i`` of the Heckman model, the probit Hessian weight of a zero outcome at
    ``-c``). For ``c << 0``, ``lambda(c) ~ -c`` and the direct ``lambda + c`` loses about
    ``c**2`` ulps (1e-9 relative at c = -100), so below ``c = -5`` it is taken from the
    Laplace continued fraction of the Mills ratio (Abramowitz and Stegun 26.2.14),
    ``lambda(-x) - x = 1 / (x + 2 / (x + 3 / (x + ...)))``, whose 40 terms are exact to
    double precision for ``x >= 5``.

    Parameters
    ----------
    c : array-like
        Probit index (any real).

    Returns
    -------
    ndarray
        ``lambda(c) (lambda(c) + c)``, same shape as ``c``.
    """
    c = np.asarray(c, dtype=float)
    lam = np.atleast_1d(inverse_mills(c))  # fresh arrays, safe to overwrite in place
    excess = lam + c
    tail = np.atleast_1d(c < _DELTA_TAIL)
    if tail.any():
        x = -np.atleast_1d(c)[tail]
        t = x.copy()
        for k in range(_DELTA_TERMS, 1, -1):
            t = x + k / t
        excess[tail] = 1.0 / t
        lam[tail] = x + excess[tail]
    return (lam * excess).reshape(c.shape)


# --- links -------------------------------------------------------------------------------
def _probit_pdf(xb):
    return np.exp(-0.5 * xb**2) / np.sqrt(2 * np.pi)


def _probit_dpdf(xb):
    return -xb * np.exp(-0.5 * xb**2) / np.sqrt(2 * np.pi)


def _probit_resid(q, xb):
    return q * inverse_mills(q * xb)


def _probit_weight(r, xb):
    return r * (r + xb)


def _logit_pdf(xb):
    p = special.expit(xb)
    return p * (1 - p)


def _logit_dpdf(xb):
    p = special.expit(xb)
    return p * (1 - p) * (1 - 2 * p)


def _logit_resid(q, xb):
    return q * special.expit(-q * xb)  # y - F(xb)


def _logit_weight(r, xb):
    return _logit_pdf(xb)


@dataclass(frozen=True)
class Link:
    """A binary-choice link: F, its density and log, the generalised residual and the
    Hessian weight (module docstring).

    ``tail`` is the index beyond which F is 0 or 1 in float64, ``scale`` the standard
    deviation of the latent error (logit coefficients are about ``pi/sqrt(3)`` times probit
    ones); both calibrate the separation check of :func:`fit`.
    """

    name: str
    cdf: Callable[[np.ndarray], np.ndarray]
    pdf: Callable[[np.ndarray], np.ndarray]
    dpdf: Callable[[np.ndarray], np.ndarray]
    logcdf: Callable[[np.ndarray], np.ndarray]
    ppf: Callable[[float], float]
    resid: Callable[[np.ndarray, np.ndarray], np.ndarray]
    weight: Callable[[np.ndarray, np.ndarray], np.ndarray]
    tail: float
    scale: float


PROBIT = Link("probit", special.ndtr, _probit_pdf, _probit_dpdf, special.log_ndtr,
              stats.norm.ppf, _probit_resid, _probit_weight, tail=8.5, scale=1.0)
LOGIT = Link("logit", special.expit, _logit_pdf, _logit_dpdf, special.log_expit,
             special.logit, _logit_resid, _logit_weight, tail=37.0, scale=np.pi / np.sqrt(3))
_LINKS = {"probit": PROBIT, "logit": LOGIT}


def get_link(name: str | Link) -> Link:
    """The :class:`Link` called ``name`` ("probit" or "logit")."""
    if isinstance(name, Link):
        return name
    try:
        return _LINKS[name]
    except KeyError:
        raise ModelError(f"link must be 'probit' or 'logit'; got {name!r}.") from None


# --- likelihood --------------------------------------------------------------------------
def _sign(y) -> np.ndarray:
    return 2.0 * np.asarray(y, dtype=float) - 1.0


def loglike(params: np.ndarray, X: np.ndarray, y, w: np.ndarray | None = None,
            link: Link = PROBIT) -> float:
    """Weighted log-likelihood ``sum_i w_i log F(q_i x_i'b)``.

    Parameters
    ----------
    params : ndarray (k,)
        Index coefficients b.
    X : ndarray (n, k)
        Regressors.
    y : array-like (n,)
        0/1 or boolean outcome.
    w : ndarray (n,), optional
        Weights (None: unweighted).
    link : Link
        :data:`PROBIT` (default) or :data:`LOGIT`.

    Returns
    -------
    float
    """
    xb = X @ params
    ll = link.logcdf(_sign(y) * xb)
    return float(np.sum(ll) if w is None else np.sum(w * ll))


def score_obs(params: np.ndarray, X: np.ndarray, y, link: Link = PROBIT) -> np.ndarray:
    """Per-observation scores ``r_i x_i`` (unweighted; multiply the rows by the weights).

    Parameters are those of :func:`loglike`. Returns an n x k array whose weighted column
    sums are the gradient of the weighted log-likelihood.
    """
    xb = X @ params
    return link.resid(_sign(y), xb)[:, None] * X


def hessian(params: np.ndarray, X: np.ndarray, y, w: np.ndarray | None = None,
            link: Link = PROBIT) -> np.ndarray:
    """Observed (analytic) Hessian of the weighted log-likelihood, k x k.

    Parameters are those of :func:`loglike`. The result is negative definite when X has
    full column rank; ``inv(-hessian)`` is the bread of every sandwich of the engine's
    users and the "nonrobust" covariance itself.
    """
    xb = X @ params
    h = link.weight(link.resid(_sign(y), xb), xb)
    if w is not None:
        h = w * h
    Xs = X * np.sqrt(h)[:, None]
    return -(Xs.T @ Xs)  # A.T @ A runs as a symmetric rank-k update


# --- separation --------------------------------------------------------------------------
def separation(X: np.ndarray, y, names: Sequence[str], outcome: str = "y") -> list[str]:
    """Terms that on their own separate the outcome (quasi-)completely.

    A 0/1 term separates when all its ones (or all its zeros) share one outcome; any other
    non-constant term when a threshold splits the outcomes (the largest value of one
    outcome group at most the smallest of the other). Constant columns (the intercept) are
    skipped. Such a coefficient has no finite maximum-likelihood value.

    Returns
    -------
    list of str
        One phrase per separating term, e.g. ``"'flag' = 1 only occurs with poor = 1 (30
        rows)"`` or ``"'x' splits poor = 0 and 1 at a threshold"``.
    """
    y = np.asarray(y, dtype=bool)
    X1, X0 = X[y], X[~y]
    if not len(X1) or not len(X0):
        return []
    lo1, hi1, lo0, hi0 = X1.min(0), X1.max(0), X0.min(0), X0.max(0)
    ones1, ones0 = (X1 == 1).sum(0), (X0 == 1).sum(0)
    zeros1, zeros0 = (X1 == 0).sum(0), (X0 == 0).sum(0)
    n1, n0 = X1.shape[0], X0.shape[0]
    out = []
    for j, name in enumerate(names):
        if min(lo1[j], lo0[j]) == max(hi1[j], hi0[j]):
            continue  # constant
        if ones1[j] + zeros1[j] == n1 and ones0[j] + zeros0[j] == n0:
            for v, c1, c0 in ((1, ones1[j], ones0[j]), (0, zeros1[j], zeros0[j])):
                if (c1 == 0) != (c0 == 0):
                    only = 1 if c0 == 0 else 0
                    out.append(f"'{name}' = {v} only occurs with {outcome} = {only} "
                               f"({c1 + c0} rows)")
                    break
        elif hi0[j] <= lo1[j] or hi1[j] <= lo0[j]:
            out.append(f"'{name}' splits {outcome} = 0 and 1 at a threshold")
    return out


def check_separation(X: np.ndarray, y, names: Sequence[str], outcome: str = "y",
                     where: str = "") -> None:
    """Raise ModelError naming the terms that separate the outcome on their own.

    ``where`` says which model, e.g. ``" in the selection equation"``; the message is
    ``"perfect separation<where>: <phrases of separation()>. Drop the term, merge its
    rare levels, or widen the sample."``
    """
    problems = separation(X, y, names, outcome)
    if problems:
        raise ModelError(
            f"perfect separation{where}: " + "; ".join(problems[:5]) + ". Drop the term, "
            "merge its rare levels, or widen the sample."
        )


# --- Newton solver -----------------------------------------------------------------------
@dataclass
class BinaryFit:
    """Result of :func:`fit`: estimates, observed Hessian and weighted log-likelihood."""

    params: np.ndarray
    hessian: np.ndarray
    loglike: float
    iterations: int
    link: Link


def fit(
    X: np.ndarray,
    y,
    w: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    link: Link | str = PROBIT,
    outcome: str = "y",
    where: str = "",
    maxiter: int = 100,
    tol: float = 1e-10,
) -> BinaryFit:
    """Weighted probit (or logit) by Newton-Raphson with step halving.

    Parameters
    ----------
    X : ndarray (n, k)
        Regressors including the constant (first column when there is one).
    y : ndarray (n,)
        0/1 (or boolean) outcome.
    w : ndarray (n,), optional
        Positive weights (pseudo-likelihood).
    names : list of str, optional
        Term names, used in error messages.
    link : Link or {"probit", "logit"}
        The link (default probit).
    outcome : str
        Name of the outcome in error messages.
    where : str
        Which model, in error messages (``" in the selection equation"``).
    maxiter : int
        Newton iterations at most.
    tol : float
        Converged when the largest step is below ``tol * (1 + max |b|)`` (or the
        log-likelihood no longer changes).

    Returns
    -------
    BinaryFit
        ``params``, the observed ``hessian`` at them, ``loglike``, ``iterations``.

    Raises
    ------
    ModelError
        Perfect separation by a single term (:func:`check_separation`), or by a
        combination of terms: the iterations do not converge, or fitted probabilities
        reach 0 or 1 to machine precision with standardised coefficients beyond 15 latent
        standard deviations.
    """
    lk = get_link(link)
    n, k = X.shape
    names = list(names) if names is not None else [f"x{j}" for j in range(k)]
    d = np.asarray(y, dtype=bool)
    check_separation(X, d, names, outcome, where)
    w = np.ones(n) if w is None else np.asarray(w, dtype=float)
    q = 2.0 * d - 1.0
    g = np.zeros(k)
    pbar = np.average(d, weights=w)
    g[0] = lk.ppf(pbar) if np.all(X[:, 0] == 1) else 0.0
    ll = loglike(g, X, d, w, lk)
    converged = False
    it = 0
    for it in range(1, maxiter + 1):  # noqa: B007 - the count is reported
        grad = X.T @ (w * lk.resid(q, X @ g))
        H = hessian(g, X, d, w, lk)
        try:
            step = np.linalg.solve(-H, grad)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        while True:
            g_new = g + t * step
            ll_new = loglike(g_new, X, d, w, lk)
            if ll_new >= ll - 1e-12 * abs(ll) or t < 1e-8:
                break
            t *= 0.5
        g, ll_old, ll = g_new, ll, ll_new
        if (np.max(np.abs(t * step)) < tol * (1 + np.max(np.abs(g)))
                or abs(ll - ll_old) < 1e-14 * abs(ll)):
            converged = True
            break
    xb = X @ g
    extreme = np.abs(xb) > lk.tail  # probability 0 or 1 in float64
    sd = X.std(axis=0)
    standardised = np.abs(g) * sd / lk.scale
    if not converged or (extreme.any() and standardised.max() > 15):
        # no single term separates (checked above): name the largest standardised ones
        order = [j for j in np.argsort(-standardised) if sd[j] > 0][:3]
        raise ModelError(
            f"{lk.name}{where} does not converge: perfect or quasi-perfect separation by a "
            f"combination of terms ({int(extreme.sum())} rows have fitted probability 0 or "
            f"1; largest standardised coefficients: {', '.join(names[j] for j in order)}). "
            "Drop or merge those terms, or widen the sample."
        )
    return BinaryFit(g, hessian(g, X, d, w, lk), ll, it, lk)


def probit_fit(Z, d, w=None, names=None, maxiter: int = 100, tol: float = 1e-10):
    """Weighted probit by :func:`fit`, as a tuple ``(params, hessian, loglike)``.

    Parameters
    ----------
    Z : ndarray (n, k)
        Regressors including the constant.
    d : ndarray of bool (n,)
        Outcome.
    w : ndarray (n,), optional
        Positive weights (pseudo-likelihood).
    names : list of str, optional
        Term names, used in error messages.
    maxiter, tol
        As in :func:`fit`.

    Returns
    -------
    params : ndarray (k,)
    hessian : ndarray (k, k)
        Observed Hessian of the weighted log-likelihood at ``params``.
    loglike : float
    """
    res = fit(Z, d, w, names, PROBIT, maxiter=maxiter, tol=tol)
    return res.params, res.hessian, res.loglike
