"""Triangulating a meteor's trajectory from several stations' lines of sight (the bridge's solver core).

Input: `LineOfSightSet`s (observations.py), one per camera report of one event, all timed from
the same reference epoch. Steps, after the method of Vida et al. (2020), reimplemented:

1. Each station's plane from its lines of sight (SVD); the pair of planes with the widest
   convergence angle gives the initial line (geometry.py).
2. The line is refined by least squares of the cross-track angular residuals of every line of
   sight, weighted by each observation's noise, itself estimated from those residuals, times each
   frame's stated uncertainty relative to the other frames of its camera (a station states a
   larger sigma for a truncated, faint or saturated frame; edge/process.py).
3. The along-track positions of the lines of sight are fitted against time with per-station
   clock offsets (bounded) and a constant, linearly decelerating or exponential-lag motion
   (kinematics.py).
4. The line, the exponential-lag motion and the clock offsets are fitted together to every
   line of sight (joint.py, after Gural 2012), with a soft prior on the lag's growth rate from
   the air's scale height, each camera's angular noise and the frame-time jitter re-estimated
   from the residuals. The initial speed is the lag model's v0 (the pre-deceleration speed).
   If the joint line fits the lines of sight across the track clearly worse than the line of
   step 2 (the motion model does not fit the frame times), the two-step solution of steps 2
   and 3 is kept instead (model chosen by BIC), and `fit_method` says why.
5. Observations with bad residuals are dropped (reason recorded) and the solution refitted; then
   single frames more than FRAME_OUTLIER_SIGMA robust sigmas (and FRAME_OUTLIER_MIN_ARCMIN) off
   the fitted line across the track are dropped (counted per observation) and the solution
   refitted: with stations nearly in one plane (convergence angles of 1-2 deg), one frame 5 arcmin
   off tilts a station's plane enough to move the radiant by degrees.
6. Monte Carlo over the estimated noise and jitter gives the uncertainties (montecarlo.py).

Measured on 77 simulated events (1 arcmin per axis, 0.5 ms jitter, clock offsets; four seeds of
`cloud_bridge.evaluate`): median radiant error 0.048 deg, median v_init error 0.27 %, mean
signed v_init error +0.06 %; 64 % of radiant errors and 68 % of v_init errors within the Monte
Carlo 1 sigma (the two-step solver on the same events: 0.063 deg, 0.41 %, +0.20 %, 62 %, 53 %).
The gain in v_init rests on the prior (scale height 9 km instead of 6: 0.35 %, +0.36 %).

Bad data never raise: the solution comes back with ok=False and a failure reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from cloud_bridge.trajectory.geometry import (
    closest_points_on_line,
    cross_track_sin,
    fit_line,
    intersect_planes,
    plane_angle_deg,
    plane_normal,
    unit,
)
from cloud_bridge.trajectory.joint import JointBasis, JointProblem, estimate_noise
from cloud_bridge.trajectory.kinematics import KinematicFit, KinematicProblem
from cloud_bridge.trajectory.montecarlo import MonteCarloResult, run_monte_carlo, run_monte_carlo_two_step
from cloud_bridge.trajectory.observations import LineOfSightSet
from edge.geometry.earth import ecef_to_geodetic

ARCMIN = np.radians(1.0 / 60.0)
MIN_CONVERGENCE_DEG = 1.0
HEIGHT_RANGE_M = (15e3, 200e3)
SPEED_RANGE_MS = (10e3, 80e3)
OUTLIER_FACTOR = 3.0  # an observation's rms above this times the median ...
OUTLIER_MIN_ARCMIN = 2.0  # ... and above this is dropped
SIGMA_FLOOR_ARCMIN = 1e-4
JOINT_ROUNDS = 2  # joint fits, each followed by a new estimate of the noise and the jitter
JOINT_MAX_CROSS_CHI2 = 16.0  # see step 4 of _solve_once; 77 simulated events: 99 % below 7, max 13
LAG_SCALE_HEIGHT_M = 6000.0  # air density scale height at meteor heights (70-110 km: 5-8 km)
LAG_PRIOR_SIGMA_LN = 0.5  # width of the prior on the lag's growth rate, in ln(a2)
MAX_TIME_GAP_S = 1.0  # stations' observed spans further apart than this (after offsets) do not overlap
FRAME_OUTLIER_SIGMA = 4.0  # a frame this many robust sigmas off the line across the track is dropped ...
FRAME_OUTLIER_MIN_ARCMIN = 0.5  # ... if also this far off (noise-free data have no outliers)
FRAME_REJECT_MAX_FRACTION = 0.25  # at most this share of an observation's frames is dropped
REL_SIGMA_RANGE = (1.0 / 3.0, 30.0)  # bounds of a frame's stated sigma relative to its camera's median
MAX_ROUNDS = 8  # refits after dropping outlying observations or frames


@dataclass
class ObservationFit:
    """How one camera's lines of sight fit the solution."""

    observation_id: str
    station_id: str
    camera_id: str
    n_frames: int
    rms_arcmin: float = float("nan")  # total angular residual (cross- and along-track)
    cross_track_rms_arcmin: float = float("nan")
    along_track_rms_arcmin: float = float("nan")
    sigma_arcmin: float = float("nan")  # the noise used for weighting and Monte Carlo
    used: bool = True
    reason: str | None = None
    n_frames_rejected: int = 0  # frames dropped as outliers across the track (step 5)
    rejected_frames: list[int] = field(default_factory=list)  # their frame numbers (or positions)


def _nan3() -> np.ndarray:
    return np.full(3, np.nan)


@dataclass
class TrajectorySolution:
    """The fitted trajectory. Positions ECEF metres, speeds m/s, times POSIX seconds (UTC)."""

    ok: bool
    failure_reason: str | None = None
    t_ref_unix: float = float("nan")
    begin_ecef_m: np.ndarray = field(default_factory=_nan3)
    end_ecef_m: np.ndarray = field(default_factory=_nan3)
    direction_ecef: np.ndarray = field(default_factory=_nan3)
    v_init_ms: float = float("nan")
    v_avg_ms: float = float("nan")
    deceleration: dict = field(default_factory=dict)
    begin: dict = field(default_factory=dict)  # lat_deg, lon_deg, height_m, t_unix
    end: dict = field(default_factory=dict)
    timing_offsets_s: dict[str, float] = field(default_factory=dict)  # station clock minus reference
    observations: list[ObservationFit] = field(default_factory=list)
    residual_rms_arcmin: float = float("nan")
    convergence_angle_deg: float = float("nan")
    mc: MonteCarloResult | None = None
    fit_method: str = ""  # "joint", or "two-step: <why the joint fit was not kept>"

    def state_for_orbit(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(position_ecef_m (3,), velocity_ecef_ms (3,), t_unix) at the begin point, initial speed."""
        return self.begin_ecef_m, self.direction_ecef * self.v_init_ms, float(self.begin["t_unix"])

    def mc_states(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Monte Carlo states: positions (R, 3), velocities (R, 3), t_unix (the nominal begin time)."""
        if self.mc is None:
            raise ValueError("this solution has no Monte Carlo runs")
        return (
            self.mc.begin_ecef_m,
            self.mc.direction_ecef * self.mc.v_init_ms[:, None],
            float(self.begin["t_unix"]),
        )


def _geodetic(xyz: np.ndarray, t_unix: float) -> dict:
    lat, lon, h = ecef_to_geodetic(xyz)
    return {"lat_deg": float(lat), "lon_deg": float(lon), "height_m": float(h), "t_unix": float(t_unix)}


def _fail(reason: str, fits: list[ObservationFit], t_ref: float, **extra) -> TrajectorySolution:
    return TrajectorySolution(ok=False, failure_reason=reason, t_ref_unix=t_ref, observations=fits, **extra)


def _check_observation(obs: LineOfSightSet) -> str | None:
    """Why an observation cannot be used, or None."""
    los, t = np.asarray(obs.los_ecef, float), np.asarray(obs.t_s, float)
    site = np.asarray(obs.site_ecef_m, float)
    if los.ndim != 2 or los.shape[1] != 3 or t.shape != (los.shape[0],) or site.shape != (3,):
        return f"malformed arrays (los {los.shape}, t {t.shape}, site {site.shape})"
    if len(t) < 2:
        return f"only {len(t)} frame(s); at least 2 are needed"
    if not (np.all(np.isfinite(los)) and np.all(np.isfinite(t)) and np.all(np.isfinite(site))):
        return "non-finite values (NaN or inf) in its times, lines of sight or site"
    if np.any(np.diff(t) <= 0):
        return "frame times are not strictly increasing"
    norms = np.linalg.norm(los, axis=1)
    if np.any(np.abs(norms - 1.0) > 1e-6):
        return "lines of sight are not unit vectors"
    return None


def solve_trajectory(
    observations: list[LineOfSightSet],
    *,
    mc_runs: int = 50,
    max_timing_offset_s: float = 0.5,
    rng: np.random.Generator | None = None,
) -> TrajectorySolution:
    """Triangulate one meteor from two or more stations' lines of sight; see the module docstring.

    max_timing_offset_s bounds each station's clock offset against the reference station (the
    first station in `observations`); 0 fixes the clocks. Never raises on bad data.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    fits = [
        ObservationFit(o.observation_id, o.station_id, o.camera_id, int(np.asarray(o.t_s).size))
        for o in observations
    ]
    t_refs = {float(o.t_ref_unix) for o in observations}
    t_ref = next(iter(t_refs)) if len(t_refs) == 1 else float("nan")
    if not observations:
        return _fail("no observations", fits, t_ref)
    if len(t_refs) > 1:
        return _fail(
            "observations have different t_ref_unix; build them with one reference epoch", fits, t_ref
        )
    for f, o in zip(fits, observations, strict=True):
        why = _check_observation(o)
        if why:
            f.used, f.reason = False, why
    try:
        with np.errstate(all="ignore"):
            return _solve(observations, fits, t_ref, mc_runs, max_timing_offset_s, rng)
    except (np.linalg.LinAlgError, FloatingPointError) as exc:  # pragma: no cover - numerical corner
        return _fail(f"numerical failure: {exc}", fits, t_ref)


def _relative_sigma(o: LineOfSightSet) -> np.ndarray:
    """Each frame's stated sigma over the median of its camera's (1 where none is stated), bounded."""
    n = o.n_frames
    if o.frame_sigma_arcmin is None:
        return np.ones(n)
    s = np.asarray(o.frame_sigma_arcmin, float)
    ok = np.isfinite(s) & (s > 0)
    if s.shape != (n,) or not ok.any():
        return np.ones(n)
    med = float(np.median(s[ok]))
    return np.clip(np.where(ok, s / med, 1.0), *REL_SIGMA_RANGE)


def _subset(o: LineOfSightSet, keep: np.ndarray) -> LineOfSightSet:
    """The observation with only the frames in `keep` (a boolean mask)."""
    if keep.all():
        return o

    def cut(a):
        return None if a is None else np.asarray(a)[keep]

    return replace(
        o, t_s=np.asarray(o.t_s)[keep], los_ecef=np.asarray(o.los_ecef)[keep], mags=cut(o.mags),
        frame_sigma_arcmin=cut(o.frame_sigma_arcmin), frame_index=cut(o.frame_index),
    )  # fmt: skip


def _frame_outliers(nom: _Nominal, observations, used, keep) -> bool:
    """Mark frames far off the fitted line across the track as dropped; True if any was."""
    changed = False
    for j, i in enumerate(used):
        sel = nom.obs_index == j
        c = np.abs(nom.cross[sel])
        z = c / nom.rel[sel]
        robust = max(1.4826 * float(np.median(z)), SIGMA_FLOOR_ARCMIN * ARCMIN)
        bad = (z > FRAME_OUTLIER_SIGMA * robust) & (c > FRAME_OUTLIER_MIN_ARCMIN * ARCMIN)
        n_total = len(keep[i])
        budget = int(FRAME_REJECT_MAX_FRACTION * n_total) - int((~keep[i]).sum())
        budget = min(budget, int(keep[i].sum()) - 3)
        if not bad.any() or budget <= 0:
            continue
        pos = np.flatnonzero(keep[i])  # positions of the used frames in the full observation
        worst = np.argsort(-z * bad)[: min(budget, int(bad.sum()))]
        keep[i][pos[worst]] = False
        changed = True
    return changed


def _solve(observations, fits, t_ref, mc_runs, max_offset, rng) -> TrajectorySolution:
    keep = [np.ones(o.n_frames if f.used else 0, bool) for o, f in zip(observations, fits, strict=True)]
    for _round in range(MAX_ROUNDS):
        views = [_subset(o, k) if f.used else o for o, k, f in zip(observations, keep, fits, strict=True)]
        for f, o, k in zip(fits, observations, keep, strict=True):
            if f.used:
                f.n_frames = int(k.sum())
                f.n_frames_rejected = int((~k).sum())
                idx = o.frame_index if o.frame_index is not None else np.arange(o.n_frames)
                f.rejected_frames = [int(v) for v in np.asarray(idx)[~k]]
        used = [i for i, f in enumerate(fits) if f.used]
        stations = list(dict.fromkeys(observations[i].station_id for i in used))
        if len(stations) < 2:
            dropped = "; ".join(f"{f.observation_id}: {f.reason}" for f in fits if not f.used)
            return _fail(
                f"needs at least 2 stations with usable observations, got {len(stations)}"
                + (f" (dropped: {dropped})" if dropped else ""),
                fits,
                t_ref,
            )
        sol = _solve_once(views, fits, used, stations, t_ref, max_offset)
        if isinstance(sol, TrajectorySolution):
            return sol
        # outliers: drop the worst observation if it is much worse than the others, then refit
        rms = np.array([fits[i].rms_arcmin for i in used])
        med = float(np.median(rms))
        worst = int(np.argmax(rms))
        if rms[worst] > OUTLIER_FACTOR * med and rms[worst] > OUTLIER_MIN_ARCMIN:
            f = fits[used[worst]]
            f.used = False
            f.reason = f"residual {f.rms_arcmin:.2f} arcmin > {OUTLIER_FACTOR:g} x median {med:.2f} arcmin"
            continue
        if _frame_outliers(sol, views, used, keep):
            continue
        return _finish(sol, views, fits, used, stations, t_ref, mc_runs, rng)
    return _fail("too many observations rejected as outliers", fits, t_ref)


@dataclass
class _Nominal:
    p: np.ndarray
    d: np.ndarray
    problem: KinematicProblem
    kfit: KinematicFit
    sites: np.ndarray
    los: np.ndarray
    obs_index: np.ndarray
    sigma_rad: np.ndarray
    sigma_s_km: np.ndarray  # along-track weights of the two-step fit (km)
    cross: np.ndarray  # (M,) cross-track residuals of the kept line (rad)
    rel: np.ndarray  # (M,) each frame's stated sigma relative to its camera's median
    convergence_deg: float
    joint: _JointFit | None  # None: the two-step solution was kept
    method: str


def _solve_once(observations, fits, used, stations, t_ref, max_offset):
    """One fit of the used observations: a TrajectorySolution on failure, else a _Nominal."""
    obs = [observations[i] for i in used]
    los = np.concatenate([np.asarray(o.los_ecef, float) for o in obs])
    t = np.concatenate([np.asarray(o.t_s, float) for o in obs])
    sites = np.concatenate([np.repeat(np.asarray(o.site_ecef_m, float)[None], o.n_frames, 0) for o in obs])
    oi = np.concatenate([np.full(o.n_frames, j) for j, o in enumerate(obs)])
    st_of_obs = np.array([stations.index(o.station_id) for o in obs])
    k = st_of_obs[oi]
    rel = np.concatenate([_relative_sigma(o) for o in obs])

    # 1. station planes and the widest pair
    normals, centres = [], []
    for s in range(len(stations)):
        sel = k == s
        normals.append(plane_normal(los[sel]))
        centres.append(sites[sel].mean(axis=0))
    best, best_q, best_pair = -1.0, 0.0, (0, 1)
    for a in range(len(stations)):
        for b in range(a + 1, len(stations)):
            q = plane_angle_deg(normals[a], normals[b])
            if q > best_q:
                best_q, best_pair = q, (a, b)
    best = best_q
    if best < MIN_CONVERGENCE_DEG:
        return _fail(
            f"geometry too poor: the largest convergence angle between station planes is {best:.2f} deg "
            f"(< {MIN_CONVERGENCE_DEG:g} deg); the stations see the meteor nearly along one plane",
            fits, t_ref, convergence_angle_deg=best,
        )  # fmt: skip
    # time overlap: every station's observed span within MAX_TIME_GAP_S + max offset of another's
    spans = [(t[k == s].min(), t[k == s].max()) for s in range(len(stations))]
    for s, (lo, hi) in enumerate(spans):
        gaps = [max(lo2 - hi, lo - hi2, 0.0) for s2, (lo2, hi2) in enumerate(spans) if s2 != s]
        if min(gaps) > MAX_TIME_GAP_S + max_offset:
            return _fail(
                f"times do not overlap: station {stations[s]} observed {min(gaps):.2f} s away from every "
                f"other station (allowed {MAX_TIME_GAP_S + max_offset:.2f} s)",
                fits, t_ref, convergence_angle_deg=best,
            )  # fmt: skip
    a, b = best_pair
    p0, d0 = intersect_planes(normals[a], centres[a], normals[b], centres[b])

    # 2. line fit, noise per observation estimated from the cross-track residuals (two passes)
    sigma_obs = np.ones(len(obs)) * ARCMIN
    for _ in range(2):
        p, d, cross = fit_line(p0, d0, sites, los[None], 1.0 / (sigma_obs[oi] * rel))
        p, d, cross = p[0], d[0], cross[0]
        p0, d0 = p, d
        for j in range(len(obs)):
            c = (cross / rel)[oi == j]
            sigma_obs[j] = np.sqrt(np.sum(c * c) / max(len(c) - 1, 1))
        pooled = float(np.median(sigma_obs))
        sigma_obs = np.maximum(sigma_obs, max(0.3 * pooled, SIGMA_FLOOR_ARCMIN * ARCMIN))
    s_m, lam = closest_points_on_line(p[None], d[None], sites, los[None])
    s_m, lam = s_m[0], lam[0]
    if np.mean(lam > 0) < 0.9:
        return _fail(
            "the lines of sight meet behind the cameras: inconsistent sites or directions "
            "(a station in the wrong place, or reports of different objects)",
            fits, t_ref, convergence_angle_deg=best,
        )  # fmt: skip

    # 3. kinematics
    cos_t = np.abs(los @ d)
    sin_t = np.maximum(np.sqrt(np.maximum(1.0 - cos_t**2, 0.0)), 0.02)
    sigma_s_km = sigma_obs[oi] * rel * np.maximum(lam, 1.0) / sin_t / 1e3
    problem = KinematicProblem(t, k, len(stations), max_offset)
    x_init = problem.initial_constant(s_m / 1e3, sigma_s_km)
    if x_init[0, 1] < 0:  # the line's direction points backwards in time
        d, s_m = -d, -s_m
    kfits = problem.fit_best(s_m / 1e3, sigma_s_km)

    # 4. the joint fit of line and motion to every line of sight (joint.py), with the noise per
    # observation and the frame-time jitter per station re-estimated from its residuals
    kfit = problem.choose(kfits, prefer_exponential=True)
    joint = JointProblem(problem, kfit.model, p, d, sites)
    jf = _joint_rounds(joint, joint.pack(kfit.x[:1]), los, sigma_obs[oi] * rel, (oi, st_of_obs, k), rel)
    # the joint line must still fit the lines of sight across the track (cross-track chi-square
    # at most JOINT_MAX_CROSS_CHI2 above the line-only fit's): a motion model that does not fit
    # the times (a fireball's fragmentation, irregular frame times) would otherwise bend the line.
    # Then the two-step solution is kept: the line of step 2, the motion of step 3.
    c_joint = np.arcsin(np.clip(cross_track_sin(jf.p[None], jf.d[None], sites[None], los[None])[0], -1, 1))
    d_chi2 = float(np.sum((c_joint**2 - cross**2) / (sigma_obs[oi] * rel) ** 2))
    if d_chi2 <= JOINT_MAX_CROSS_CHI2:
        p, d, cross, along, sigma_obs = jf.p, jf.d, jf.cross, jf.along, jf.sigma_obs
        kfit = KinematicFit(kfit.model, jf.x_kin[None], jf.cost, kfit.residual_km, kfit.bic, kfit.at_bound)
        method = "joint"
    else:
        jf = None
        kfit = problem.choose(kfits)
        method = (
            f"two-step: the joint fit raised the cross-track chi-square by {d_chi2:.0f} "
            f"(> {JOINT_MAX_CROSS_CHI2:g}); the motion model does not fit the frame times"
        )
        s_fit = problem.distance_km(kfit.model, kfit.x, problem.tau(kfit.x))[0] * 1e3
        pred = unit(p + s_fit[:, None] * d - sites)
        total = np.arccos(np.clip(np.sum(pred * los, axis=1), -1.0, 1.0))
        along = np.sqrt(np.maximum(total**2 - cross**2, 0.0))

    # 5. residuals per observation (total angle between observed and fitted lines of sight)
    total = np.hypot(cross, along)
    for j, i in enumerate(used):
        sel = oi == j
        f = fits[i]
        f.rms_arcmin = float(np.sqrt(np.mean(total[sel] ** 2)) / ARCMIN)
        f.cross_track_rms_arcmin = float(np.sqrt(np.mean(cross[sel] ** 2)) / ARCMIN)
        f.along_track_rms_arcmin = float(np.sqrt(np.mean(along[sel] ** 2)) / ARCMIN)
        f.sigma_arcmin = float(sigma_obs[j] / ARCMIN)
    return _Nominal(
        p, d, problem, kfit, sites, los, oi, sigma_obs[oi] * rel, sigma_s_km, cross, rel, best, jf, method
    )


@dataclass
class _JointFit:
    joint: JointProblem
    x: np.ndarray  # (4 + P,) joint parameters
    p: np.ndarray
    d: np.ndarray
    x_kin: np.ndarray
    cost: np.ndarray
    basis: JointBasis
    cross: np.ndarray  # (M,) rad
    along: np.ndarray
    sigma_obs: np.ndarray  # (J,) rad per observation
    jitter: np.ndarray  # (K,) s per station
    sigma_along: np.ndarray  # (M,) the along-track weights used (rad)


def _joint_rounds(joint: JointProblem, x, los, sig_c, noise, rel) -> _JointFit:
    """JOINT_ROUNDS joint fits from x (1, 4 + P), each followed by new noise estimates; rel (M,):
    each frame's sigma relative to its camera's noise."""
    oi, st_of_obs, k = noise
    jitter = np.zeros(int(st_of_obs.max()) + 1)
    for _ in range(JOINT_ROUNDS):
        basis = joint.basis(x[0])
        joint.set_lag_prior(x[0], LAG_SCALE_HEIGHT_M, LAG_PRIOR_SIGMA_LN)
        sig_a = np.sqrt(sig_c**2 + (basis.rate_rad_s * jitter[k]) ** 2)
        res = joint.fit(x, los[None], basis, sig_c, sig_a)
        x = res.x
        cross, along = (r[0] for r in joint.residuals(x, los[None], basis))
        sigma_obs, jitter = estimate_noise(
            cross / rel, along / rel, basis.rate_rad_s / rel, oi, st_of_obs, joint.n_params,
            SIGMA_FLOOR_ARCMIN * ARCMIN,
        )  # fmt: skip
        sig_c = sigma_obs[oi] * rel
    sig_a = np.sqrt(sig_c**2 + (basis.rate_rad_s * jitter[k]) ** 2)
    p, d, xk = joint.unpack(x)
    return _JointFit(joint, x[0], p[0], d[0], xk[0], res.cost, basis, cross, along, sigma_obs, jitter, sig_a)


def _finish(nom: _Nominal, observations, fits, used, stations, t_ref, mc_runs, rng) -> TrajectorySolution:
    problem, kfit, p, d = nom.problem, nom.kfit, nom.p, nom.d
    tau = problem.tau(kfit.x)[0]
    tmin, tmax = float(tau.min()), float(tau.max())
    s_b, s_e = (float(v) * 1e3 for v in problem.distance_km(kfit.model, kfit.x, np.array([[tmin, tmax]]))[0])
    begin, end = p + s_b * d, p + s_e * d
    t_b, t_e = t_ref + problem.t0 + tmin, t_ref + problem.t0 + tmax
    offsets = problem.offsets(kfit.x)[0]
    total = np.concatenate([[fits[i].rms_arcmin] * fits[i].n_frames for i in used])
    sol = TrajectorySolution(
        ok=True,
        t_ref_unix=t_ref,
        begin_ecef_m=begin,
        end_ecef_m=end,
        direction_ecef=d,
        v_init_ms=float(kfit.x[0, 1] * 1e3),
        v_avg_ms=float((s_e - s_b) / max(tmax - tmin, 1e-9)),
        deceleration=problem.lag_params(kfit.model, kfit.x),
        begin=_geodetic(begin, t_b),
        end=_geodetic(end, t_e),
        timing_offsets_s={sid: float(offsets[s]) for s, sid in enumerate(stations)},
        observations=fits,
        residual_rms_arcmin=float(np.sqrt(np.mean(total**2))),
        convergence_angle_deg=nom.convergence_deg,
        fit_method=nom.method,
    )
    problems = []
    for h, name in ((sol.begin["height_m"], "begin"), (sol.end["height_m"], "end")):
        if not HEIGHT_RANGE_M[0] <= h <= HEIGHT_RANGE_M[1]:
            problems.append(f"{name} height {h / 1e3:.1f} km is outside {HEIGHT_RANGE_M[0] / 1e3:g}-"
                            f"{HEIGHT_RANGE_M[1] / 1e3:g} km")  # fmt: skip
    if not SPEED_RANGE_MS[0] <= sol.v_init_ms <= SPEED_RANGE_MS[1]:
        problems.append(f"initial speed {sol.v_init_ms / 1e3:.1f} km/s is outside "
                        f"{SPEED_RANGE_MS[0] / 1e3:g}-{SPEED_RANGE_MS[1] / 1e3:g} km/s")  # fmt: skip
    if problem.fit_offsets:
        for s, sid in enumerate(stations):
            if s and abs(offsets[s]) >= 0.999 * problem.max_offset_s:
                problems.append(f"clock offset of station {sid} reached the bound of "
                                f"{problem.max_offset_s:g} s")  # fmt: skip
    if problems:
        sol.ok = False
        sol.failure_reason = "implausible solution: " + "; ".join(problems)
        return sol
    if mc_runs and mc_runs > 1:
        if nom.joint is not None:
            jf = nom.joint
            sol.mc = run_monte_carlo(
                joint=jf.joint, x_nominal=jf.x, basis=jf.basis, sigma_rad=nom.sigma_rad,
                sigma_along_rad=jf.sigma_along, jitter_s=jf.jitter[nom.problem.k], station_ids=stations,
                t_ref_unix=t_ref, runs=int(mc_runs), rng=rng,
            )  # fmt: skip
            sol.mc.frame_jitter_s = {sid: float(jf.jitter[s]) for s, sid in enumerate(stations)}
        else:
            sol.mc = run_monte_carlo_two_step(
                p=p, d=d, model=kfit.model, x_kin=kfit.x[0], problem=problem, sites=nom.sites,
                sigma_rad=nom.sigma_rad, sigma_s_km=nom.sigma_s_km, station_ids=stations, t_ref_unix=t_ref,
                runs=int(mc_runs), rng=rng,
            )  # fmt: skip
        sol.mc.noise_arcmin = {fits[i].observation_id: fits[i].sigma_arcmin for i in used}
    return sol
