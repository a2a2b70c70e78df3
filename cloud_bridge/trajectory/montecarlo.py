"""Monte Carlo uncertainties of a trajectory: re-solve the joint problem with simulated noise.

The noise is what the nominal fit's residuals say (solver.py, joint.estimate_noise): each
observation's angular noise per axis (from its cross-track residuals) and each station's
frame-time jitter (from the along-track residuals in excess of that noise). Every run takes the
positions the nominal solution predicts at each frame's time shifted by a random jitter, looks at
them from the sites, scatters those lines of sight by the angular noise (Gaussian, per axis) and
re-solves the line, the motion and the clock offsets together (joint.py). All runs are solved
together: the stacked problems start from the nominal solution and take a few vectorised
Levenberg-Marquardt steps (lm.py), so 50 runs cost about as much as a few nominal fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cloud_bridge.trajectory.geometry import closest_points_on_line, fit_line, tangent_basis, unit
from cloud_bridge.trajectory.joint import JointBasis, JointProblem
from cloud_bridge.trajectory.kinematics import KinematicProblem
from edge.geometry.earth import ecef_to_geodetic

MC_MAX_ITER = 30  # Levenberg-Marquardt iterations of the runs, which start at the nominal solution


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
    frame_jitter_s: dict[str, float] = field(default_factory=dict)  # per station, as simulated


def run_monte_carlo(
    *,
    joint: JointProblem,
    x_nominal: np.ndarray,
    basis: JointBasis,
    sigma_rad: np.ndarray,
    sigma_along_rad: np.ndarray,
    jitter_s: np.ndarray,
    station_ids: list[str],
    t_ref_unix: float,
    runs: int,
    rng: np.random.Generator,
    max_iter: int | None = None,
) -> MonteCarloResult:
    """Re-solve `runs` times around the nominal joint solution x_nominal (4 + P,).

    sigma_rad, sigma_along_rad: (M,) per-frame angular noise per axis and the along-track weight
    of the nominal fit (rad); jitter_s: (M,) frame-time jitter of each frame's station (s)."""
    m = len(sigma_rad)
    x_nom = np.asarray(x_nominal, float)[None]
    shift = rng.standard_normal((runs, m)) * jitter_s[None]
    u_pred = unit(joint.positions_m(np.repeat(x_nom, runs, axis=0), shift) - joint.sites)
    e1, e2 = tangent_basis(u_pred)
    noise = rng.standard_normal((runs, m, 2)) * sigma_rad[None, :, None]
    los = unit(u_pred + noise[..., :1] * e1 + noise[..., 1:] * e2)
    x0 = np.repeat(x_nom, runs, axis=0)
    res = joint.fit(x0, los, basis, sigma_rad, sigma_along_rad, max_iter=max_iter or MC_MAX_ITER)
    p_r, d_r, x = joint.unpack(res.x)
    _, d_nom, _ = joint.unpack(x_nom)
    problem, model = joint.kin, joint.model
    return _summarise(problem, model, x, p_r, d_r, d_nom[0], runs, t_ref_unix, station_ids)


def run_monte_carlo_two_step(
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
    """The two-step solver's Monte Carlo (solver.py uses it when the joint fit is not kept): each
    run re-fits the line to the cross-track residuals, then the motion to the along-track
    positions. Re-solves `runs` times around the nominal solution (p, d, x_kin). sites, sigma_rad:
    per line of sight (M, 3), (M,); sigma_s_km: (M,) along-track weights of the nominal fit."""
    tau = problem.tau(x_kin[None])
    s_pred = problem.distance_km(model, x_kin[None], tau)[0] * 1e3
    pos = p + s_pred[:, None] * d
    u_pred = unit(pos - sites)
    e1, e2 = tangent_basis(u_pred)
    noise = rng.standard_normal((runs, len(sites), 2)) * sigma_rad[None, :, None]
    los = unit(u_pred[None] + noise[..., :1] * e1[None] + noise[..., 1:] * e2[None])
    weights = 1.0 / sigma_rad
    p_r, d_r, _ = fit_line(p, d, sites, los, weights, max_iter=MC_MAX_ITER)
    s_r, _lam = closest_points_on_line(p_r, d_r, sites, los)
    x0 = np.repeat(x_kin[None], runs, axis=0)
    res, _ = problem.fit(model, x0, s_r / 1e3, sigma_s_km[None], max_iter=MC_MAX_ITER)
    x = res.x
    return _summarise(problem, model, x, p_r, d_r, d, runs, t_ref_unix, station_ids)


def _summarise(problem, model, x, p_r, d_r, d_nominal, runs, t_ref_unix, station_ids) -> MonteCarloResult:
    """The runs' begin and end points, speeds and clock offsets, and their spreads."""
    tau_r = problem.tau(x)
    tmin, tmax = tau_r.min(axis=1, keepdims=True), tau_r.max(axis=1, keepdims=True)
    begin = p_r + problem.distance_km(model, x, tmin)[:, 0, None] * 1e3 * d_r
    end = p_r + problem.distance_km(model, x, tmax)[:, 0, None] * 1e3 * d_r
    v0 = x[:, 1] * 1e3
    offsets = problem.offsets(x)
    h_b = ecef_to_geodetic(begin)[2]
    h_e = ecef_to_geodetic(end)[2]
    ang = np.degrees(np.arccos(np.clip(d_r @ d_nominal, -1.0, 1.0)))

    def spread(values) -> float:
        return float(np.std(values, ddof=1)) if runs > 1 else float("nan")

    return MonteCarloResult(
        n_runs=runs,
        begin_ecef_m=begin,
        end_ecef_m=end,
        direction_ecef=d_r,
        v_init_ms=v0,
        begin_t_unix=t_ref_unix + problem.t0 + tmin[:, 0],
        timing_offsets_s=offsets,
        sigma_begin_height_m=spread(h_b),
        sigma_end_height_m=spread(h_e),
        sigma_v_init_ms=spread(v0),
        sigma_radiant_deg=float(np.sqrt(np.mean(ang**2))),
        sigma_timing_offsets_s={sid: spread(offsets[:, k]) for k, sid in enumerate(station_ids)},
    )
