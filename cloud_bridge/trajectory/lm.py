"""A small Levenberg-Marquardt least-squares solver vectorised over independent problems.

The trajectory solver fits the same model to many data sets at once (the nominal data and the
Monte Carlo runs): `fun` takes parameters of shape (R, P) and returns weighted residuals of
shape (R, M); each of the R problems is solved independently, with its own damping, in the same
numpy calls. The Jacobian is by central differences with per-parameter steps (the models here
have at most about ten parameters, so this costs 2P residual evaluations per iteration).
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


def jacobian(fun: Callable[[np.ndarray], np.ndarray], x: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of `fun` at `x` (R, P): shape (R, M, P)."""
    r_, p = x.shape
    # evaluate all 2P shifted parameter sets in one call: stack them as extra problems
    shifts = np.zeros((2 * p, p))
    shifts[np.arange(p), np.arange(p)] = step
    shifts[p + np.arange(p), np.arange(p)] = -step
    xs = (x[:, None, :] + shifts[None, :, :]).reshape(r_ * 2 * p, p)
    f = fun(xs).reshape(r_, 2 * p, -1)
    return np.moveaxis((f[:, :p] - f[:, p:]) / (2.0 * step)[None, :, None], 1, 2)


def levenberg_marquardt(
    fun: Callable[[np.ndarray], np.ndarray],
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
    r = fun(x)
    cost = np.sum(r * r, axis=1)
    lam = np.full(len(x), 1e-3)
    active = np.ones(len(x), bool)
    J = None
    it = 0
    while it < max_iter:
        it += 1
        J = jacobian(fun, x, step)
        A = np.einsum("rmp,rmq->rpq", J, J)
        g = np.einsum("rmp,rm->rp", J, r)
        diag = np.maximum(np.einsum("rpp->rp", A), 1e-300)
        damped = A + lam[:, None, None] * diag[:, :, None] * np.eye(x.shape[1])[None]
        try:
            dx = -np.linalg.solve(damped, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            dx = -np.linalg.lstsq(damped[0], g[0], rcond=None)[0][None] if len(x) == 1 else np.zeros_like(x)
        dx = np.where(np.isfinite(dx), dx, 0.0)
        x_new = np.clip(x + dx, lo, hi)
        r_new = fun(x_new)
        cost_new = np.sum(r_new * r_new, axis=1)
        better = np.isfinite(cost_new) & (cost_new <= cost) & active
        gain = np.where(better, (cost - cost_new) / np.maximum(cost, 1e-300), 0.0)
        x[better], r[better], cost[better] = x_new[better], r_new[better], cost_new[better]
        lam = np.where(better, np.maximum(lam / 5.0, 1e-12), np.minimum(lam * 8.0, 1e12))
        # a problem is done when an accepted step no longer reduces its cost, or damping blew up
        done = (better & (gain < rtol)) | (lam >= 1e12) | (cost < 1e-300)
        active &= ~done
        if not active.any():
            break
    if J is None or it > 0:
        J = jacobian(fun, x, step)
    return LMResult(x=x, residuals=r, cost=cost, jacobian=J, iterations=it)
