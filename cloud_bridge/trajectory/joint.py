"""The joint fit of the line and the motion along it to every line of sight at once.

After Gural (2012, "A new method of meteor trajectory determination applied to multiple unsynchronized
video cameras", the multi-parameter fit): each frame's predicted position is
``p + d s(t - dt_station)``, with the line (p, d; geometry.py) and the motion model with clock offsets
(kinematics.py) fitted together, and the residual of each frame is the angle between its observed
line of sight and the direction from its site to that predicted point, split in two components:

- cross-track: perpendicular to the meteor's apparent motion on that camera's sky (angular noise
  only);
- along-track: along the apparent motion (angular noise plus the frame-time jitter times the
  apparent angular speed).

So the timing constrains the geometry and the geometry the timing. The exponential lag's growth
rate a2 gets a soft prior from the air's density scale height (`JointProblem.set_lag_prior`):
without it, a2 trades off against v0 on short or weakly decelerating tracks (v_init errors of
several per cent on simulated fast meteors). Inputs come from the two-step
solution of solver.py (line, then kinematics), which gives the starting point, the model and the
reference frame of the parameters. All functions are vectorised over R data sets (the nominal data
and the Monte Carlo runs) and solved by lm.py. Angles are radians, distances metres unless named.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cloud_bridge.trajectory.geometry import LineParams, unit
from cloud_bridge.trajectory.kinematics import KinematicProblem
from cloud_bridge.trajectory.lm import LMResult, levenberg_marquardt

SIGMA_PRIOR_FRAMES = 20.0  # weight of the pooled noise in each camera's estimate, in frames


@dataclass
class JointBasis:
    """Per-frame directions on the sky at the nominal solution, fixed during a fit.

    along: (M, 3) unit vectors of the apparent motion (perpendicular to the line of sight);
    cross: (M, 3) unit vectors perpendicular to it and to the line of sight; rate_rad_s: (M,)
    apparent angular speed of the meteor (rad/s)."""

    along: np.ndarray
    cross: np.ndarray
    rate_rad_s: np.ndarray


class JointProblem:
    """Line (4 parameters, geometry.LineParams around p_ref, d_ref) plus the kinematic parameters of
    `model` (kinematics.KinematicProblem: s0_km, v0_kms, lag, clock offsets) for lines of sight
    `los` (M, 3) from `sites` (M, 3) at the kinematic problem's times."""

    def __init__(
        self, kin: KinematicProblem, model: str, p_ref: np.ndarray, d_ref: np.ndarray, sites: np.ndarray
    ) -> None:
        self.kin, self.model = kin, model
        self.line = LineParams(p_ref, d_ref)
        self.sites = np.asarray(sites, float)
        self.n_kin = kin.n_params(model)
        self.ln_a2_prior: tuple[float, float] | None = None  # (centre, sigma) of ln(a2 s), exponential only

    def set_lag_prior(self, x_row: np.ndarray, scale_height_m: float, sigma_ln: float) -> None:
        """A soft prior on the exponential lag's growth rate a2 (1/s): the rate at which the air
        density grows along the path in an isothermal atmosphere, v sin(elevation) / H, the lag's
        deceleration being proportional to the density (Jacchia's model). x_row: the solution that
        gives v and the elevation; sigma_ln: the prior's width in ln(a2)."""
        if self.model != "exponential" or not sigma_ln > 0:
            self.ln_a2_prior = None
            return
        p, d, xk = self.unpack(np.asarray(x_row, float)[None])
        sin_e = max(float(-d[0] @ unit(p[0])), 0.05)
        a2 = abs(float(xk[0, 1])) * 1e3 * sin_e / scale_height_m
        self.ln_a2_prior = (float(np.log(max(a2, 1e-6))), float(sigma_ln))

    @property
    def n_params(self) -> int:
        return 4 + self.n_kin

    def pack(self, x_kin: np.ndarray) -> np.ndarray:
        """Parameters (R, 4 + P) for the reference line and kinematic parameters x_kin (R, P)."""
        x_kin = np.atleast_2d(x_kin)
        return np.concatenate([np.zeros((len(x_kin), 4)), x_kin], axis=1)

    def unpack(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(p (R, 3) m, d (R, 3), x_kin (R, P)) of joint parameters x (R, 4 + P)."""
        p, d = self.line.line(x[:, :4])
        return p, d, x[:, 4:]

    def positions_m(self, x: np.ndarray, t_shift_s: np.ndarray | None = None) -> np.ndarray:
        """Predicted positions (R, M, 3), ECEF m, at each frame's time (plus t_shift_s (R, M))."""
        p, d, xk = self.unpack(x)
        tau = self.kin.tau(xk)
        if t_shift_s is not None:
            tau = tau + t_shift_s
        s_m = self.kin.distance_km(self.model, xk, tau) * 1e3
        return p[:, None, :] + s_m[..., None] * d[:, None, :]

    def basis(self, x_row: np.ndarray) -> JointBasis:
        """Along/cross directions and apparent angular speed at the solution x_row (4 + P,)."""
        x = np.asarray(x_row, float)[None]
        pos = self.positions_m(x)[0]
        _, d, xk = self.unpack(x)
        rel = pos - self.sites
        rng_m = np.linalg.norm(rel, axis=1)
        u = rel / rng_m[:, None]
        perp = d[0] - (u @ d[0])[:, None] * u
        sin_a = np.linalg.norm(perp, axis=1)
        along = perp / np.maximum(sin_a, 1e-12)[:, None]
        cross = np.cross(u, along)
        speed_ms = np.abs(self.kin.speed_kms(self.model, xk, self.kin.tau(xk))[0]) * 1e3
        return JointBasis(along, cross, speed_ms * sin_a / rng_m)

    def residuals(self, x: np.ndarray, los: np.ndarray, basis: JointBasis) -> tuple[np.ndarray, np.ndarray]:
        """(cross-track, along-track) angular residuals (R, M) of lines of sight los (R or 1, M, 3),
        observed minus predicted, radians."""
        lc = np.einsum("rmi,mi->rm", los, basis.cross)
        la = np.einsum("rmi,mi->rm", los, basis.along)
        return self._residuals(x, lc, la, basis)

    def _residuals(self, x, los_cross, los_along, basis: JointBasis) -> tuple[np.ndarray, np.ndarray]:
        """residuals() with the observed lines of sight already projected on the basis (R, M)."""
        rel = self.positions_m(x) - self.sites
        inv = 1.0 / np.sqrt(np.einsum("rmi,rmi->rm", rel, rel))
        c = los_cross - np.einsum("rmi,mi->rm", rel, basis.cross) * inv
        a = los_along - np.einsum("rmi,mi->rm", rel, basis.along) * inv
        return c, a

    def fit(
        self,
        x0: np.ndarray,
        los: np.ndarray,
        basis: JointBasis,
        sigma_cross_rad: np.ndarray,
        sigma_along_rad: np.ndarray,
        *,
        max_iter: int = 30,
    ) -> LMResult:
        """Weighted least squares of both residual components for R data sets los (R, M, 3) from
        x0 (R, 4 + P); sigmas (M,) per frame."""
        n_sets = los.shape[0]
        wc, wa = 1.0 / sigma_cross_rad, 1.0 / sigma_along_rad
        lc = np.einsum("rmi,mi->rm", los, basis.cross)
        la = np.einsum("rmi,mi->rm", los, basis.along)

        def fun(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
            c, a = (
                self._residuals(x, lc[rows], la[rows], basis)
                if n_sets > 1
                else self._residuals(x, lc, la, basis)
            )
            cols = [c * wc, a * wa]
            if self.ln_a2_prior is not None:
                mu, sig = self.ln_a2_prior
                cols.append(((np.log(np.maximum(x[:, 7], 1e-12)) - mu) / sig)[:, None])
            return np.concatenate(cols, axis=1)

        lo_k, hi_k = self.kin.bounds(self.model)
        lo = np.concatenate([np.full(4, -np.inf), lo_k])
        hi = np.concatenate([np.full(4, np.inf), hi_k])
        step = np.concatenate([LineParams.step, self.kin.steps(self.model)])
        return levenberg_marquardt(fun, x0, step, lower=lo, upper=hi, max_iter=max_iter)


def estimate_noise(
    cross: np.ndarray,
    along: np.ndarray,
    rate_rad_s: np.ndarray,
    obs_index: np.ndarray,
    station_of_obs: np.ndarray,
    n_params: int,
    floor_rad: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-observation angular noise (rad, from the cross-track residuals, shrunk toward the
    pooled value) and frame-time jitter (s, from the along-track residuals in excess of that
    noise, pooled over the event's stations).

    cross, along, rate_rad_s, obs_index: (M,) per frame; station_of_obs: (J,). The residual
    variances are scaled by 2M / (2M - n_params) for the fitted parameters. Returns
    (sigma_obs_rad (J,), jitter_s (K,))."""
    m = len(cross)
    dof_scale = 2 * m / max(2 * m - n_params, 1)
    n_obs = int(obs_index.max()) + 1
    n_j = np.bincount(obs_index, minlength=n_obs).astype(float)
    var_j = np.bincount(obs_index, weights=cross * cross, minlength=n_obs) * dof_scale / n_j
    pooled_var = float(np.sum(var_j * n_j) / np.sum(n_j))
    # each camera's variance, shrunk toward the pooled one as if it had SIGMA_PRIOR_FRAMES more frames
    var_j = (n_j * var_j + SIGMA_PRIOR_FRAMES * pooled_var) / (n_j + SIGMA_PRIOR_FRAMES)
    sigma = np.sqrt(var_j)
    sigma = np.maximum(sigma, max(0.3 * float(np.median(sigma)), floor_rad))
    # one jitter for the event, pooled over its stations: a per-station estimate is too noisy
    # (it is 0 for a third of the simulated events, whose jitter is 0.5 ms everywhere)
    excess = float(np.sum(along**2 * dof_scale - sigma[obs_index] ** 2))
    jitter = np.sqrt(max(excess, 0.0) / max(float(np.sum(rate_rad_s**2)), 1e-300))
    return sigma, np.full(int(station_of_obs.max()) + 1, jitter)
