"""A small Levenberg-Marquardt least-squares solver vectorised over independent problems.

The trajectory solver fits the same model to many data sets at once (the nominal data and the
Monte Carlo runs): `fun(x, rows)` takes parameters of shape (N, P) and, for each row, the index
of its data set (N,), and returns weighted residuals of shape (N, M); each of the R problems is
solved independently, with its own damping, in the same numpy calls, and a problem that has
converged drops out of the following iterations. The Jacobian is by central differences with
per-parameter steps (the models here have at most about twelve parameters, so this costs 2P
residual evaluations per iteration).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class LMResult:
    x: np.ndarray  # (R, P) solution
    residuals: np.ndarray  # (R, M) at the solution
    cost: np.ndarray  # (R,) sum of squared residuals
    jacobian: np.ndarray  # (R, M, P) at the solution
    iterations: int


Residuals = Callable[[np.ndarray, np.ndarray], np.ndarray]


def jacobian(fun: Residuals, x: np.ndarray, step: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of `fun` at `x` (R, P) of data sets `rows` (R,): shape (R, M, P)."""
    r_, p = x.shape
    # evaluate all 2P shifted parameter sets in one call: stack them as extra problems
    shifts = np.zeros((2 * p, p))
    shifts[np.arange(p), np.arange(p)] = step
    shifts[p + np.arange(p), np.arange(p)] = -step
    xs = (x[:, None, :] + shifts[None, :, :]).reshape(r_ * 2 * p, p)
    f = fun(xs, np.repeat(rows, 2 * p)).reshape(r_, 2 * p, -1)
    return np.moveaxis((f[:, :p] - f[:, p:]) / (2.0 * step)[None, :, None], 1, 2)


def levenberg_marquardt(
    fun: Residuals,
    x0: np.ndarray,
    step: np.ndarray,
    *,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    max_iter: int = 30,
    rtol: float = 1e-12,
) -> LMResult:
    """Minimise sum(fun(x)**2) for each row of `x0` (R, P); parameters clipped to [lower, upper]."""
    x = np.array(x0, float, copy=True)
    step = np.asarray(step, float)
    lo = np.full(x.shape[1], -np.inf) if lower is None else np.asarray(lower, float)
    hi = np.full(x.shape[1], np.inf) if upper is None else np.asarray(upper, float)
    x = np.clip(x, lo, hi)
    every = np.arange(len(x))
    r = fun(x, every)
    cost = np.sum(r * r, axis=1)
    lam = np.full(len(x), 1e-3)
    active = np.ones(len(x), bool)
    eye = np.eye(x.shape[1])[None]
    it = 0
    while it < max_iter and active.any():
        it += 1
        ia = np.flatnonzero(active)
        J = jacobian(fun, x[ia], step, ia)
        A = np.einsum("rmp,rmq->rpq", J, J)
        g = np.einsum("rmp,rm->rp", J, r[ia])
        diag = np.maximum(np.einsum("rpp->rp", A), 1e-300)
        damped = A + lam[ia, None, None] * diag[:, :, None] * eye
        try:
            dx = -np.linalg.solve(damped, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            dx = np.stack([-np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(damped, g, strict=True)])
        dx = np.where(np.isfinite(dx), dx, 0.0)
        x_new = np.clip(x[ia] + dx, lo, hi)
        r_new = fun(x_new, ia)
        cost_new = np.sum(r_new * r_new, axis=1)
        better = np.isfinite(cost_new) & (cost_new <= cost[ia])
        gain = np.where(better, (cost[ia] - cost_new) / np.maximum(cost[ia], 1e-300), 0.0)
        ib = ia[better]
        x[ib], r[ib], cost[ib] = x_new[better], r_new[better], cost_new[better]
        lam[ia] = np.where(better, np.maximum(lam[ia] / 5.0, 1e-12), np.minimum(lam[ia] * 8.0, 1e12))
        # a problem is done when an accepted step no longer reduces its cost, or damping blew up
        done = (better & (gain < rtol)) | (lam[ia] >= 1e12) | (cost[ia] < 1e-300)
        active[ia[done]] = False
    J = jacobian(fun, x, step, every)
    return LMResult(x=x, residuals=r, cost=cost, jacobian=J, iterations=it)
