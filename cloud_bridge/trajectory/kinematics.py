"""Motion along the fitted line: distance against time, per-station clock offsets, deceleration.

Input: for every line of sight, its time (station clock, s) and the along-track position s (m) of
the point of the line nearest to it (geometry.closest_points_on_line), with the along-track
uncertainty that the angular noise gives there (sigma R / sin(angle to the line)).
Models of the distance along track, tau being the time since the first observed instant after
clock corrections:

- ``constant``:    s = s0 + v0 tau
- ``linear``:      s = s0 + v0 tau + acc tau^2 / 2            (speed falling linearly, acc <= 0)
- ``exponential``: s = s0 + v0 tau - a1 (exp(a2 tau) - 1)     (Whipple/Jacchia lag, as in Vida et
  al. 2020 and the simulator, edge/sim/meteor.py); fitted as b = a1 exp(a2 T), the lag at the end
  of the observed track T, which is better scaled than a1.

Every station but the reference (index 0) has a clock offset dt (station clock minus reference
clock, s): its times are corrected by subtracting dt. The exponential fit here starts the joint
fit (joint.py); when the solver keeps the two-step solution instead, the model is chosen by the
Bayesian information criterion, with a margin in favour of the exponential lag. v0 is the
initial (pre-deceleration) speed in every model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cloud_bridge.trajectory.lm import LMResult, levenberg_marquardt

MODELS = ("constant", "linear", "exponential")
_N_CORE = {"constant": 2, "linear": 3, "exponential": 4}
EXPONENTIAL_PREFERENCE_BIC = 6.0


@dataclass
class KinematicFit:
    model: str
    x: np.ndarray  # (R, P): s0_km, v0_kms, [acc_kms2 | b_km, a2_per_s], dt_s for stations 1..K-1
    cost: np.ndarray  # (R,) chi-square
    residual_km: np.ndarray  # (R, M) unweighted along-track residuals
    bic: float
    at_bound: list[str] = field(default_factory=list)

    @property
    def v0_ms(self) -> np.ndarray:
        return self.x[:, 1] * 1e3


class KinematicProblem:
    """The data of one kinematic fit: times, which station each line of sight belongs to."""

    def __init__(self, t_s: np.ndarray, station_index: np.ndarray, n_stations: int, max_offset_s: float):
        self.t = np.asarray(t_s, float)
        self.k = np.asarray(station_index, int)
        self.n_stations = n_stations
        self.max_offset_s = float(max_offset_s)
        self.fit_offsets = n_stations > 1 and self.max_offset_s > 0
        self.t0 = float(self.t[self.k == 0].min()) if np.any(self.k == 0) else float(self.t.min())
        self.span = max(float(self.t.max() - self.t.min()), 1e-3)

    def n_params(self, model: str) -> int:
        return _N_CORE[model] + (self.n_stations - 1 if self.fit_offsets else 0)

    def offsets(self, x: np.ndarray) -> np.ndarray:
        """Per-station clock offsets (R, K), reference station 0."""
        dt = np.zeros((len(x), self.n_stations))
        if self.fit_offsets:
            dt[:, 1:] = x[:, -(self.n_stations - 1) :]
        return dt

    def tau(self, x: np.ndarray) -> np.ndarray:
        return self.t[None, :] - self.offsets(x)[:, self.k] - self.t0

    def distance_km(self, model: str, x: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """Model distance along track (km) at times tau (R, M) for parameters x (R, P)."""
        s0, v0 = x[:, 0:1], x[:, 1:2]
        s = s0 + v0 * tau
        if model == "linear":
            s = s + 0.5 * x[:, 2:3] * tau * tau
        elif model == "exponential":
            b, a2 = x[:, 2:3], x[:, 3:4]
            s = s - b * (np.exp(a2 * (tau - self.span)) - np.exp(-a2 * self.span))
        return s

    def speed_kms(self, model: str, x: np.ndarray, tau: np.ndarray) -> np.ndarray:
        v = x[:, 1:2] + 0.0 * tau
        if model == "linear":
            v = v + x[:, 2:3] * tau
        elif model == "exponential":
            v = v - x[:, 2:3] * x[:, 3:4] * np.exp(x[:, 3:4] * (tau - self.span))
        return v

    def lag_params(self, model: str, x: np.ndarray) -> dict:
        """The fitted deceleration in the simulator's convention (SI units), for the nominal row."""
        row = x[0]
        if model == "exponential":
            b_m, a2 = row[2] * 1e3, row[3]
            return {"model": model, "a1_m": float(b_m * np.exp(-a2 * self.span)), "a2_per_s": float(a2)}
        if model == "linear":
            return {"model": model, "acceleration_ms2": float(row[2] * 1e3)}
        return {"model": model}

    def bounds(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        n = self.n_params(model)
        lo, hi = np.full(n, -np.inf), np.full(n, np.inf)
        if model == "linear":
            hi[2] = 0.0
        elif model == "exponential":
            lo[2], hi[2] = 0.0, np.inf
            lo[3], hi[3] = 1.0 / self.span, 60.0 / self.span
        if self.fit_offsets:
            lo[_N_CORE[model] :], hi[_N_CORE[model] :] = -self.max_offset_s, self.max_offset_s
        return lo, hi

    def steps(self, model: str) -> np.ndarray:
        core = {
            "constant": [1e-5, 1e-5],
            "linear": [1e-5, 1e-5, 1e-4],
            "exponential": [1e-5, 1e-5, 1e-6, 1e-5 / self.span],
        }[model]
        return np.array(core + [1e-6] * (self.n_params(model) - len(core)))

    def fit(
        self, model: str, x0: np.ndarray, s_km: np.ndarray, sigma_km: np.ndarray, *, max_iter: int = 40
    ) -> tuple[LMResult, np.ndarray]:
        """LM fit of `model` to R data sets s_km (R, M) with sigma_km (R or 1, M), from x0 (R, P)."""
        n_sets = s_km.shape[0]

        def residuals(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
            s = s_km[rows] if n_sets > 1 else s_km
            sig = sigma_km[rows] if sigma_km.shape[0] > 1 else sigma_km
            return (s - self.distance_km(model, x, self.tau(x))) / sig

        lo, hi = self.bounds(model)
        res = levenberg_marquardt(residuals, x0, self.steps(model), lower=lo, upper=hi, max_iter=max_iter)
        resid_km = s_km - self.distance_km(model, res.x, self.tau(res.x))
        return res, resid_km

    # ------------------------------------------------------------------ nominal fit with model choice
    def initial_constant(self, s_km: np.ndarray, sigma_km: np.ndarray) -> np.ndarray:
        """Linear least squares of s = c_k + v0 tau (per-station intercepts give the clock offsets)."""
        tau = self.t - self.t0
        w = 1.0 / sigma_km
        a = np.zeros((len(tau), 1 + self.n_stations))
        a[:, 0] = tau
        a[np.arange(len(tau)), 1 + self.k] = 1.0
        cols = [0] + [1 + k for k in range(self.n_stations) if np.any(self.k == k)]
        sol = np.linalg.lstsq(a[:, cols] * w[:, None], s_km * w, rcond=None)[0]
        coef = np.zeros(1 + self.n_stations)
        coef[cols] = sol
        v0 = coef[0]
        x = [coef[1], v0]
        if self.fit_offsets:
            dt = -(coef[2:] - coef[1]) / v0 if v0 != 0 else np.zeros(self.n_stations - 1)
            x += list(np.clip(dt, -self.max_offset_s, self.max_offset_s))
        return np.array([x], float)

    def fit_best(self, s_km: np.ndarray, sigma_km: np.ndarray) -> dict[str, KinematicFit]:
        """Fit every model to one data set (s_km, sigma_km of shape (M,)); returns fits by model."""
        s2, sig2 = s_km[None], sigma_km[None]
        m = len(s_km)
        fits: dict[str, KinematicFit] = {}
        x_const = self.initial_constant(s_km, sigma_km)
        res, rk = self.fit("constant", x_const, s2, sig2)
        fits["constant"] = self._wrap("constant", res, rk, m)
        xc = res.x[0]
        offs = list(xc[2:])
        if m >= 6:
            res, rk = self.fit("linear", np.array([[xc[0], xc[1], -1e-3, *offs]]), s2, sig2)
            fits["linear"] = self._wrap("linear", res, rk, m)
        if m >= 8:
            # start the exponential lag from a grid of a2 values; b and the rest by linear least squares
            tau = self.t - self.offsets(res.x[:1])[0, self.k] - self.t0
            best = None
            for a2_span in (1.0, 2.0, 3.5, 5.0, 8.0, 12.0, 20.0):
                a2 = a2_span / self.span
                basis = np.stack(
                    [np.ones(m), tau, -(np.exp(a2 * (tau - self.span)) - np.exp(-a2 * self.span))], 1
                )
                coef = np.linalg.lstsq(basis / sigma_km[:, None], s_km / sigma_km, rcond=None)[0]
                x0 = np.array([[coef[0], coef[1], max(coef[2], 1e-6), a2, *offs]])
                r, rk = self.fit("exponential", x0, s2, sig2, max_iter=25)
                if best is None or r.cost[0] < best[0].cost[0]:
                    best = (r, rk)
            fits["exponential"] = self._wrap("exponential", best[0], best[1], m)
        return fits

    def _wrap(self, model: str, res: LMResult, resid_km: np.ndarray, m: int) -> KinematicFit:
        lo, hi = self.bounds(model)
        x = res.x[0]
        tol = 1e-6 * np.maximum(1.0, np.abs(x))
        at = [f"p{i}" for i in range(len(x)) if (x[i] - lo[i] < tol[i]) or (hi[i] - x[i] < tol[i])]
        bic = float(res.cost[0] + self.n_params(model) * np.log(m))
        return KinematicFit(model, res.x, res.cost, resid_km, bic, at)

    def choose(self, fits: dict[str, KinematicFit], *, prefer_exponential: bool = False) -> KinematicFit:
        """The model with the lowest BIC among those not stuck at a bound of their own parameters;
        prefer_exponential: the exponential lag whenever it was fitted (the joint fit, with its
        prior on the lag's growth rate, takes it from there; joint.py)."""
        if prefer_exponential and "exponential" in fits:
            return fits["exponential"]
        n_core = _N_CORE
        usable = []
        for name, f in fits.items():
            core_at = [p for p in f.at_bound if int(p[1:]) < n_core[name] and int(p[1:]) >= 2]
            if name == "constant" or not core_at:
                usable.append(f)
        best = min(usable, key=lambda f: f.bic)
        # the exponential lag is the physical model (Vida et al. 2020): keep it unless the data
        # clearly prefer another (a BIC margin of 6, "strong" evidence); a linear fit to an
        # exponential lag biases v0 (measured: median v_init error 0.43 % -> 0.23 % on one set)
        expo = next((f for f in usable if f.model == "exponential"), None)
        if expo is not None and expo.bic < best.bic + EXPONENTIAL_PREFERENCE_BIC:
            return expo
        return best
