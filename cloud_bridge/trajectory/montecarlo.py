"""Monte Carlo uncertainties of a trajectory: re-solve with simulated measurement noise.

The noise of each observation is estimated from its cross-track residuals (solver.py). Every run
takes the lines of sight the nominal solution predicts (site to fitted position at each frame
time), scatters them by that angular noise (Gaussian, per axis), and re-solves the line and the
motion along it. All runs are solved together: the stacked problems start from the nominal
solution and take a few vectorised Levenberg-Marquardt steps (lm.py), so 50 runs cost about as
much as a few nominal fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cloud_bridge.trajectory.geometry import closest_points_on_line, fit_line, tangent_basis, unit
from cloud_bridge.trajectory.kinematics import KinematicProblem
from edge.geometry.earth import ecef_to_geodetic


@dataclass
class MonteCarloResult:
    """Per-run results (R runs) and their spreads. Units SI; angles in degrees."""

    n_runs: int
    begin_ecef_m: np.ndarray  # (R, 3)
    end_ecef_m: np.ndarray  # (R, 3)
    direction_ecef: np.ndarray  # (R, 3) unit vectors of motion
    v_init_ms: np.ndarray  # (R,)
    begin_t_unix: np.ndarray  # (R,)
    timing_offsets_s: np.ndarray  # (R, K) station clock minus reference clock
    sigma_begin_height_m: float
    sigma_end_height_m: float
    sigma_v_init_ms: float
    sigma_radiant_deg: float  # RMS angle of the runs' directions from the nominal one
    sigma_timing_offsets_s: dict[str, float] = field(default_factory=dict)
    noise_arcmin: dict[str, float] = field(default_factory=dict)  # per observation, as simulated


def run_monte_carlo(
    *,
    p: np.ndarray,
    d: np.ndarray,
    model: str,
    x_kin: np.ndarray,
    problem: KinematicProblem,
    sites: np.ndarray,
    sigma_rad: np.ndarray,
    sigma_s_km: np.ndarray,
    station_ids: list[str],
    t_ref_unix: float,
    runs: int,
    rng: np.random.Generator,
) -> MonteCarloResult:
    """Re-solve `runs` times around the nominal solution (p, d, x_kin). sites, sigma_rad: per line of
    sight (M, 3), (M,); sigma_s_km: (M,) along-track weights of the nominal fit."""
    tau = problem.tau(x_kin[None])
    s_pred = problem.distance_km(model, x_kin[None], tau)[0] * 1e3
    pos = p + s_pred[:, None] * d
    u_pred = unit(pos - sites)
    e1, e2 = tangent_basis(u_pred)
    noise = rng.standard_normal((runs, len(sites), 2)) * sigma_rad[None, :, None]
    los = unit(u_pred[None] + noise[..., :1] * e1[None] + noise[..., 1:] * e2[None])
    weights = 1.0 / sigma_rad
    p_r, d_r, _ = fit_line(p, d, sites, los, weights, max_iter=8)
    s_r, _lam = closest_points_on_line(p_r, d_r, sites, los)
    x0 = np.repeat(x_kin[None], runs, axis=0)
    res, _ = problem.fit(model, x0, s_r / 1e3, sigma_s_km[None], max_iter=10)
    x = res.x
    tau_r = problem.tau(x)
    tmin, tmax = tau_r.min(axis=1, keepdims=True), tau_r.max(axis=1, keepdims=True)
    s_b = problem.distance_km(model, x, tmin)[:, 0] * 1e3
    s_e = problem.distance_km(model, x, tmax)[:, 0] * 1e3
    begin = p_r + s_b[:, None] * d_r
    end = p_r + s_e[:, None] * d_r
    v0 = x[:, 1] * 1e3
    offsets = problem.offsets(x)
    h_b = ecef_to_geodetic(begin)[2]
    h_e = ecef_to_geodetic(end)[2]
    ang = np.degrees(np.arccos(np.clip(d_r @ d, -1.0, 1.0)))
    return MonteCarloResult(
        n_runs=runs,
        begin_ecef_m=begin,
        end_ecef_m=end,
        direction_ecef=d_r,
        v_init_ms=v0,
        begin_t_unix=t_ref_unix + problem.t0 + tmin[:, 0],
        timing_offsets_s=offsets,
        sigma_begin_height_m=float(np.std(h_b, ddof=1)) if runs > 1 else float("nan"),
        sigma_end_height_m=float(np.std(h_e, ddof=1)) if runs > 1 else float("nan"),
        sigma_v_init_ms=float(np.std(v0, ddof=1)) if runs > 1 else float("nan"),
        sigma_radiant_deg=float(np.sqrt(np.mean(ang**2))),
        sigma_timing_offsets_s={
            sid: float(np.std(offsets[:, k], ddof=1)) if runs > 1 else float("nan")
            for k, sid in enumerate(station_ids)
        },
    )
