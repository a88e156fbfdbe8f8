"""Exact weighted linear quantile regression as a linear programme.

The estimator minimises ``sum_i w_i rho_q(y_i - x_i'b)`` with the check function
``rho_q(r) = r (q - 1[r < 0])``. Since ``rho_q(w r) = w rho_q(r)`` for ``w > 0``, weights are
absorbed into the rows: ``a_i = w_i x_i`` and ``c_i = w_i y_i``; every function here works on
those weighted rows.

Why our own solver: statsmodels' ``QuantReg`` uses iteratively reweighted least squares,
which is slow on survey-sized data and does not reach the exact LP optimum; scipy's HiGHS
solves the LP exactly but builds an ``n x (p + 2n)`` problem and is slow for large ``n``.
This module follows R quantreg instead:

1. :func:`frisch_newton` is the primal-dual interior-point method with Mehrotra's
   predictor-corrector step on the bounded dual ``max c'a s.t. A'a = rhs, 0 <= a <= 1``
   (Koenker and Portnoy 1997; a line-by-line port of the logic of quantreg's ``rqfnb.f``,
   with a relative rather than absolute duality-gap stopping rule).
2. :func:`exact_vertex` turns its approximate solution into an exact vertex of the LP:
   it picks ``p`` linearly independent observations with the smallest residuals, solves
   ``A_h b = c_h`` and certifies optimality by building a dual-feasible ``a`` with zero
   duality gap (the Koenker-Bassett subgradient condition). If no certificate can be
   built (degenerate problems with many ties), the problem is reduced to the
   observations near the fitted plane and solved by HiGHS' dual simplex
   (:func:`highs_polish`), whose vertex is certified again.
3. :func:`solve` adds the preprocessing of Portnoy and Koenker (1997) for large ``n``: fit
   a subsample of size ``m ~ n^(2/3) p^(1/2)``, keep the observations in a confidence band
   around that fit, merge ("glob") those certainly above and below the band into two
   pseudo-observations, solve the reduced problem exactly and check the signs of the
   globbed residuals; misclassified observations are moved back into the band, and the
   subsample is doubled when too many are. Because ``rho_q`` is subadditive, the reduced
   objective is a lower bound of the full objective that touches it when the globbed
   signs are right, so the result is the exact optimum of the full problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize, sparse

from pmt.survey import weighted_quantile

# Relative duality gap at which the interior point stops; the vertex step does the rest.
_GAP_TOL = 1e-11
_MAXIT = 100
_BETA = 0.99995
# Relative size under which a residual counts as zero (floating point cancellation).
_ZERO_RTOL = 1e-9
# Dual feasibility tolerance of the optimality certificate.
_DUAL_TOL = 1e-8


class SolverError(RuntimeError):
    """The LP could not be solved (internal; callers translate it to ModelError)."""


@dataclass
class Solution:
    """Exact solution of a quantile regression LP."""

    coef: np.ndarray
    objective: float
    certified: bool
    stats: dict = field(default_factory=dict)


def check_loss(r: np.ndarray, q: float) -> float:
    """``sum_i rho_q(r_i)`` for residuals of weighted rows."""
    return float(np.sum(np.where(r < 0, (q - 1.0) * r, q * r)))


def _cholesky(M: np.ndarray):
    """Cholesky factor of a symmetric positive (semi)definite matrix, with a ridge if needed."""
    try:
        return linalg.cho_factor(M, lower=False, check_finite=False)
    except linalg.LinAlgError:
        pass
    scale = max(float(np.trace(M)) / M.shape[0], np.finfo(float).tiny)
    for ridge in (1e-13, 1e-11, 1e-9, 1e-7):
        try:
            return linalg.cho_factor(
                M + ridge * scale * np.eye(M.shape[0]), lower=False, check_finite=False
            )
        except linalg.LinAlgError:
            continue
    raise SolverError("normal equations of the interior point are singular")


def frisch_newton(
    A: np.ndarray,
    c: np.ndarray,
    q: float,
    rhs: np.ndarray | None = None,
    tol: float = _GAP_TOL,
    maxit: int = _MAXIT,
    beta: float = _BETA,
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Frisch-Newton interior point for ``min_b sum rho_q(c - A b)``.

    Solves the dual ``max c'a s.t. A'a = rhs, 0 <= a <= 1`` with ``rhs = (1-q) A'1`` by
    the Mehrotra predictor-corrector steps of R quantreg's ``rqfnb``; the coefficients are
    the multipliers of the equality constraints.

    Returns
    -------
    coef, dual, iterations, converged
        Approximate coefficients, the dual point ``a`` (in ``[0, 1]``), the number of
        iterations and whether the relative duality gap fell below ``tol``.
    """
    n, p = A.shape
    if rhs is None:
        rhs = (1.0 - q) * A.sum(axis=0)
    cscale = float(np.mean(np.abs(c))) or 1.0
    # rqfnb minimises cc'x with cc = -y; work with the response scaled to unit size.
    cc = -c / cscale
    b = rhs  # the constraint A'x = rhs does not change when the response is scaled
    x = np.full(n, 1.0 - q)
    # Start: least squares, y = (A'A)^{-1} A'cc.
    fac = _cholesky(A.T @ A)
    y = linalg.cho_solve(fac, A.T @ cc, check_finite=False)
    s = cc - A @ y
    eps0 = 1e-6
    small = np.abs(s) < eps0
    z = np.maximum(s, 0.0) + small * eps0
    w = np.maximum(-s, 0.0) + small * eps0
    s = 1.0 - x
    gap = z @ x + w @ s
    nit = 0
    converged = False
    csum = (1.0 - q) * cc.sum()
    buf = np.empty_like(A)  # reused for sqrt(d) A, to avoid an n x p allocation per step
    while nit < maxit:
        # Relative gap: against the dual estimate of the check loss, y'a - (1-q) 1'y
        # (scaled units), which equals the loss at the optimum.
        loss = csum - cc @ x
        if gap <= tol * max(abs(loss), 1e-300) or gap <= 1e-300:
            converged = True
            break
        nit += 1
        d = 1.0 / (z / x + w / s)
        ds = z - w
        dz = d * ds
        dy = b + A.T @ (dz - x)
        rhs_saved = dy.copy()
        np.multiply(A, np.sqrt(d)[:, None], out=buf)
        fac = _cholesky(buf.T @ buf)
        dy = linalg.cho_solve(fac, dy, check_finite=False)
        ds = A @ dy - ds
        dx = d * ds
        ds = -dx
        dz = -z * (dx / x + 1.0)
        dw = -w * (ds / s + 1.0)
        deltap = _step(x, dx, s, ds)
        deltad = _step(z, dz, w, dw)
        deltap = min(beta * deltap, 1.0)
        deltad = min(beta * deltad, 1.0)
        if min(deltap, deltad) < 1.0:
            # Mehrotra corrector with centring parameter mu.
            mu = x @ z + s @ w
            g = (x + deltap * dx) @ (z + deltad * dz) + (s + deltap * ds) @ (w + deltad * dw)
            mu = mu * (g / mu) ** 3 / (2 * n)
            dr = d * (mu * (1.0 / s - 1.0 / x) + dx * dz / x - ds * dw / s)
            dy = linalg.cho_solve(fac, rhs_saved + A.T @ dr, check_finite=False)
            u = A @ dy
            dxdz = dx * dz
            dsdw = ds * dw
            dx = d * (u - z + w) - dr
            ds = -dx
            dz = -z + (mu - z * dx - dxdz) / x
            dw = -w + (mu - w * ds - dsdw) / s
            deltap = min(beta * _step(x, dx, s, ds), 1.0)
            deltad = min(beta * _step(z, dz, w, dw), 1.0)
        x += deltap * dx
        s += deltap * ds
        y += deltad * dy
        z += deltad * dz
        w += deltad * dw
        gap = z @ x + w @ s
    coef = -y * cscale
    return coef, np.clip(x, 0.0, 1.0), nit, converged


def _step(v1, d1, v2, d2) -> float:
    """Largest step keeping v1 + t d1 >= 0 and v2 + t d2 >= 0 (capped at 1e20)."""
    t = 1e20
    neg = d1 < 0
    if neg.any():
        t = min(t, float(np.min(-v1[neg] / d1[neg])))
    neg = d2 < 0
    if neg.any():
        t = min(t, float(np.min(-v2[neg] / d2[neg])))
    return t


def _independent_rows(A: np.ndarray, order: np.ndarray, p: int) -> np.ndarray | None:
    """First ``p`` linearly independent rows of ``A`` taken in ``order`` (greedy Gram-Schmidt)."""
    Q = np.empty((p, p))
    chosen: list[int] = []
    colscale = np.sqrt((A[order[: max(4 * p, 50)]] ** 2).mean(axis=0))
    colscale[colscale == 0] = 1.0
    for i in order:
        v = A[i] / colscale
        nv = np.linalg.norm(v)
        if nv == 0:
            continue
        k = len(chosen)
        u = v.copy()
        for _ in range(2):  # re-orthogonalise once for stability
            if k:
                u -= Q[:k].T @ (Q[:k] @ u)
        nu = np.linalg.norm(u)
        if nu > 1e-7 * nv:
            Q[k] = u / nu
            chosen.append(int(i))
            if len(chosen) == p:
                return np.asarray(chosen)
    return None


def _magnitude(A: np.ndarray, c: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``|c_i| + sum_j |A_ij b_j|``: the scale of the rounding error of a residual."""
    mag = np.abs(c) + np.abs(A) @ np.abs(coef)
    return np.maximum(mag, np.finfo(float).tiny)


def certify(
    A: np.ndarray, c: np.ndarray, q: float, coef: np.ndarray, basis: np.ndarray, dual_hint
) -> tuple[bool, float]:
    """Check the Koenker-Bassett optimality condition of the vertex with basis ``basis``.

    Builds the dual point ``a`` with ``a_i = 1`` (residual > 0), ``0`` (< 0), the hint
    (clipped to [0, 1]) for other zero residuals, and ``a_h`` solving ``A_h'a_h = rhs -
    A_N'a_N``; the vertex is optimal when ``0 <= a_h <= 1`` (zero duality gap).

    Returns (optimal, worst dual infeasibility).
    """
    n, p = A.shape
    r = c - A @ coef
    zero = np.abs(r) <= _ZERO_RTOL * _magnitude(A, c, coef)
    a = (r > 0).astype(float)
    if dual_hint is not None:
        a[zero] = np.clip(dual_hint[zero], 0.0, 1.0)
    else:
        a[zero] = 1.0 - q
    a[basis] = 0.0
    target = (1.0 - q) * A.sum(axis=0) - A.T @ a
    try:
        ah = linalg.solve(A[basis].T, target, check_finite=False)
    except linalg.LinAlgError:
        return False, np.inf
    viol = float(max(0.0, -ah.min(), ah.max() - 1.0))
    return viol <= _DUAL_TOL, viol


def exact_vertex(
    A: np.ndarray, c: np.ndarray, q: float, coef: np.ndarray, dual: np.ndarray | None
) -> tuple[np.ndarray, bool, float]:
    """Exact vertex next to an approximate solution, with its optimality certificate.

    Returns (coef, certified, dual infeasibility). When no certified basis is found the
    best vertex tried is returned with ``certified=False``.
    """
    n, p = A.shape
    r = c - A @ coef
    key = np.abs(r) / _magnitude(A, c, coef)
    k = min(n, 4 * p + 20)
    first = np.argpartition(key, k - 1)[:k] if k < n else np.arange(n)
    order = first[np.argsort(key[first], kind="stable")]
    basis = _independent_rows(A, order, p)
    if basis is None:
        order = np.argsort(key, kind="stable")
        basis = _independent_rows(A, order, p)
    if basis is None:
        raise SolverError("no set of p linearly independent observations (singular design)")
    b = linalg.solve(A[basis], c[basis], check_finite=False)
    # One step of iterative refinement against rounding in the basis solve.
    b += linalg.solve(A[basis], c[basis] - A[basis] @ b, check_finite=False)
    ok, viol = certify(A, c, q, b, basis, dual)
    return b, ok, viol


def highs_polish(
    A: np.ndarray, c: np.ndarray, q: float, coef: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Exact optimum by HiGHS' dual simplex on the observations near an approximate fit.

    The observations whose residuals at ``coef`` are clearly positive (negative) are
    merged into one pseudo-observation each; the reduced LP is solved by ``scipy.optimize.
    linprog(method="highs-ds")`` and the merged signs are checked; the band is doubled until
    they hold (the last resort is the full LP).

    Returns (coef, dual, stats).
    """
    n, p = A.shape
    r = c - A @ coef
    key = np.abs(r) / _magnitude(A, c, coef)
    k = min(n, max(20 * p, 200))
    rounds = 0
    while True:
        rounds += 1
        if k >= n:
            inside = np.ones(n, dtype=bool)
        else:
            inside = np.zeros(n, dtype=bool)
            inside[np.argpartition(key, k - 1)[:k]] = True
        above = ~inside & (r > 0)
        below = ~inside & (r < 0)
        rows = [A[inside]]
        resp = [c[inside]]
        for m in (above, below):
            if m.any():
                rows.append(A[m].sum(axis=0)[None, :])
                resp.append(np.array([c[m].sum()]))
        Ar = np.vstack(rows)
        cr = np.concatenate(resp)
        b, dual = _highs(Ar, cr, q)
        rr = c - A @ b
        bad = (above & (rr < 0)) | (below & (rr > 0))
        if not bad.any():
            full_dual = (r > 0).astype(float)
            full_dual[inside] = dual[: int(inside.sum())]
            return b, full_dual, {"highs_rounds": rounds, "highs_rows": int(Ar.shape[0])}
        if k >= n:
            raise SolverError("HiGHS solution of the full problem violates its own signs")
        k = min(n, 2 * k)


def _highs(A: np.ndarray, c: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Solve min q 1'u + (1-q) 1'v s.t. A b + u - v = c, u, v >= 0 with HiGHS' dual simplex."""
    n, p = A.shape
    eye = sparse.identity(n, format="csr")
    A_eq = sparse.hstack([sparse.csr_matrix(A), eye, -eye], format="csc")
    cost = np.concatenate([np.zeros(p), np.full(n, q), np.full(n, 1.0 - q)])
    bounds = [(None, None)] * p + [(0, None)] * (2 * n)
    res = optimize.linprog(cost, A_eq=A_eq, b_eq=c, bounds=bounds, method="highs-ds")
    if res.status != 0:
        raise SolverError(f"HiGHS failed: {res.message}")
    dual = np.clip(res.eqlin.marginals + (1.0 - q), 0.0, 1.0)
    return res.x[:p], dual


def solve_small(A: np.ndarray, c: np.ndarray, q: float) -> Solution:
    """Exact solution without preprocessing: interior point, vertex, HiGHS if needed.

    When the vertex next to the interior-point solution is not certified, the interior
    point is first run again to a 100 times smaller gap (cheap: it converges fast at the
    end) before the HiGHS fallback.
    """
    coef, dual, nit, converged = frisch_newton(A, c, q)
    stats = {"ip_iterations": nit, "ip_converged": bool(converged)}
    b, ok, _ = exact_vertex(A, c, q, coef, dual)
    if not ok:
        coef, dual, nit2, converged = frisch_newton(A, c, q, tol=_GAP_TOL / 100)
        stats.update({"ip_iterations": nit + nit2, "ip_converged": bool(converged)})
    return _finish(A, c, q, coef, dual, stats)


def solve_near(A: np.ndarray, c: np.ndarray, q: float, coef: np.ndarray) -> Solution:
    """Exact solution next to a good approximation (no interior point): vertex, HiGHS."""
    return _finish(A, c, q, coef, None, {"ip_iterations": 0, "ip_converged": True})


def _finish(A, c, q, coef, dual, stats) -> Solution:
    stats["polish"] = "vertex"
    b, ok, viol = exact_vertex(A, c, q, coef, dual)
    if not ok:
        hb, hdual, hstats = highs_polish(A, c, q, b)
        stats.update(hstats)
        b2, ok2, viol2 = exact_vertex(A, c, q, hb, hdual)
        stats["polish"] = "highs"
        if ok2:
            b, ok, viol = b2, ok2, viol2
        else:
            # Keep the better of HiGHS' own vertex (optimal to HiGHS' tolerance) and ours.
            b = hb
            if check_loss(c - A @ b2, q) <= check_loss(c - A @ hb, q):
                b = b2
    stats["dual_infeasibility"] = float(viol)
    return Solution(b, check_loss(c - A @ b, q), bool(ok), stats)


def subsample_size(n: int, p: int) -> int:
    """Portnoy-Koenker subsample size ``m = n^(2/3) p^(1/2)`` (at least 5p)."""
    return int(max(5 * p, round(n ** (2.0 / 3.0) * np.sqrt(p))))


def use_preprocessing(n: int, p: int, warm: bool = False) -> bool:
    """Whether ``preprocess="auto"`` globs: when the subsample is well below n.

    With a warm start no subsample is fitted, so globbing pays off sooner: whenever the
    band (0.8 m rows) is below half the sample.
    """
    if warm:
        return n >= 1000 and subsample_size(n, p) <= n // 2
    return n >= 5000 and subsample_size(n, p) <= n // 3


def _band_metric(A_sub: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``G^{-1/2}`` of ``G = A_s'A_s`` by eigendecomposition, and its null space if singular."""
    G = A_sub.T @ A_sub
    scale = np.sqrt(np.clip(np.diag(G), 1e-300, None))
    Gs = G / np.outer(scale, scale)
    vals, vecs = np.linalg.eigh(Gs)
    keep = vals > vals.max() * 1e-10
    T = (vecs[:, keep] / np.sqrt(vals[keep])) / scale[:, None]
    null = None if keep.all() else vecs[:, ~keep] * scale[:, None]
    return T, null


def solve(
    A: np.ndarray,
    c: np.ndarray,
    q: float,
    w: np.ndarray | None = None,
    preprocess: bool | str = "auto",
    rng: np.random.Generator | None = None,
    start: np.ndarray | None = None,
    mm_factor: float = 0.8,
    max_fixup: int = 3,
    globbed: np.ndarray | None = None,
) -> Solution:
    """Exact weighted quantile regression on weighted rows ``A = w x``, ``c = w y``.

    Parameters
    ----------
    A, c : ndarray
        Weighted design rows and responses.
    q : float
        Quantile in (0, 1).
    w : ndarray, optional
        The weights themselves, used only to measure the band of the preprocessing in
        weight shares (default: equal).
    preprocess : {"auto", True, False}
        Portnoy-Koenker globbing; "auto" uses it for large n (:func:`use_preprocessing`).
    rng : numpy.random.Generator
        Draws the preprocessing subsample.
    start : ndarray, optional
        A preliminary estimate (e.g. the full-sample fit for a bootstrap replicate, or a
        neighbouring quantile): its band replaces the subsample fit.
    globbed : ndarray of int, optional
        +1 / -1 for rows that are themselves pseudo-observations of rows above / below
        (a fix-up solving a reduced problem): they stay globbed, at the ends of the order,
        so that weight shares keep their meaning.
    """
    n, p = A.shape
    if preprocess == "auto":
        preprocess = use_preprocessing(n, p, warm=start is not None)
    if not preprocess or n <= 2 * p + 10:
        sol = solve_small(A, c, q)
        sol.stats["preprocess_rounds"] = 0
        return sol
    rng = rng if rng is not None else np.random.default_rng(0)
    w = np.ones(n) if w is None else w
    m = subsample_size(n, p)
    rounds = 0
    fixups_total = 0
    full_T = None
    while m < n // 2 + 1:
        rounds += 1
        if start is not None and rounds == 1:
            b0 = np.asarray(start, dtype=float)
            if full_T is None:
                sub = rng.choice(n, size=min(n, max(m, 4 * p)), replace=False)
                full_T, full_null = _band_metric(A[np.sort(sub)])
            T, null = full_T, full_null
        else:
            sub = np.sort(rng.choice(n, size=m, replace=False))
            As, cs = A[sub], c[sub]
            T, null = _band_metric(As)
            try:
                # Only the band's centre: a loose gap is enough.
                b0, _, _, _ = frisch_newton(As, cs, q, tol=1e-6)
            except SolverError:
                m *= 2
                continue
        r = c - A @ b0
        band = _row_norms(A, T)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(band > 0, r / band, 0.0)
        if null is not None:
            # Rows not spanned by the subsample have an unbounded band: keep them.
            ratio[np.abs(A @ null).max(axis=1) > 1e-8 * np.abs(A).max(axis=1)] = 0.0
        if globbed is not None:
            ratio[globbed > 0] = np.inf
            ratio[globbed < 0] = -np.inf
        M = mm_factor * m
        # Keep about M rows: q -/+ M/2 rows' worth of weight (M / 2n without weights;
        # pseudo-observations of an earlier globbing count by the rows they stand for).
        wbar = float(w.mean() if globbed is None else w[globbed == 0].mean())
        share = wbar / float(w.sum())
        lo = max(share, q - M / 2 * share)
        hi = min(q + M / 2 * share, 1.0 - share)
        k_lo, k_hi = weighted_quantile(ratio, w, [lo, hi])
        k_lo, k_hi = min(k_lo, 0.0), max(k_hi, 0.0)
        if not (np.isfinite(k_lo) and np.isfinite(k_hi)):
            break
        below = ratio < k_lo
        above = ratio > k_hi
        b_prev = None
        for _ in range(max_fixup):
            inside = ~(below | above)
            rows = [A[inside]]
            resp = [c[inside]]
            wts = [w[inside]]
            signs = [np.zeros(int(inside.sum()), dtype=np.int8)]
            for mask, sign in ((above, 1), (below, -1)):
                if mask.any():
                    rows.append(A[mask].sum(axis=0)[None, :])
                    resp.append(np.array([c[mask].sum()]))
                    wts.append(np.array([w[mask].sum()]))
                    signs.append(np.array([sign], dtype=np.int8))
            Ar = np.vstack(rows)
            cr = np.concatenate(resp)
            try:
                if b_prev is None:
                    sol = solve_small(Ar, cr, q)
                else:
                    # A fix-up moves a few rows back: the previous fit is a warm start.
                    sol = solve(
                        Ar, cr, q, w=np.concatenate(wts), rng=rng, start=b_prev,
                        globbed=np.concatenate(signs),
                    )
            except SolverError:
                break
            b_prev = sol.coef
            rr = c - A @ sol.coef
            bad_above = above & (rr < 0)
            bad_below = below & (rr > 0)
            nbad = int(bad_above.sum() + bad_below.sum())
            if nbad == 0:
                full_obj = check_loss(rr, q)
                sol.stats.update(
                    {
                        "preprocess_rounds": rounds,
                        "subsample": int(m),
                        "reduced_rows": int(Ar.shape[0]),
                        "fixups": fixups_total,
                        "reduced_objective": sol.objective,
                    }
                )
                # The reduced objective equals the full one when the globbed signs hold.
                sol.objective = full_obj
                return sol
            fixups_total += 1
            if nbad > 0.1 * M:
                break
            above &= ~bad_above
            below &= ~bad_below
        m *= 2
    sol = solve_small(A, c, q)
    sol.stats.update({"preprocess_rounds": rounds, "subsample": int(n), "fixups": fixups_total})
    return sol


def _row_norms(A: np.ndarray, T: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """``||A_i T||`` row by row, in chunks to bound memory."""
    out = np.empty(A.shape[0])
    for start in range(0, A.shape[0], chunk):
        B = A[start : start + chunk] @ T
        out[start : start + chunk] = np.sqrt(np.einsum("ij,ij->i", B, B))
    return out
