"""A meteoroid in the atmosphere: straight-line track, deceleration, and light curve.

Track: a straight line in Earth-fixed (ECEF) coordinates from the begin point along the
entry velocity (gravity bends the path by tens of metres over a few seconds: below what the
cameras resolve at 100 km, and the reference solvers fit straight lines too).
Deceleration: the exponential lag of Whipple and Jacchia, as used by Vida et al. (2020):
distance along the track s(t) = v0 t - a1 (exp(a2 t) - 1), so s(0) = 0 and the speed falls
from v0 by a1 a2 exp(a2 t).
Light curve: the classical single-body ablation shape (e.g. Ceplecha et al. 1998), with
intensity I/I_max = 9/4 x (1 - x/3)^2 where x = rho(h)/rho(h_max) = exp(-(h - h_max)/H),
so the meteor brightens, peaks at h_max and burns out at x = 3 (h_max - H ln 3), plus
optional Gaussian flares. Magnitudes are absolute (at 100 km range).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from edge.geometry.earth import ecef_to_geodetic

ATMOSPHERE_SCALE_HEIGHT_M = 7000.0
FAINT_MAG = 12.0  # absolute magnitude used where the light curve has burnt out
MAX_SEARCH_M = 4e7  # farther than any point a ground camera sees below geostationary height


@dataclass(frozen=True)
class Flare:
    t_rel_s: float  # time after the begin
    dmag: float  # negative: brighter
    width_s: float  # Gaussian sigma


@dataclass
class MeteorTrajectory:
    begin_ecef_m: np.ndarray
    direction_ecef: np.ndarray  # unit vector of motion
    v_init_ms: float
    t_begin_unix: float
    duration_s: float
    lag_a1_m: float
    lag_a2_per_s: float
    peak_abs_mag: float
    peak_height_m: float
    flares: list[Flare] = field(default_factory=list)

    def distance_m(self, t_rel_s):
        t = np.asarray(t_rel_s, float)
        return self.v_init_ms * t - self.lag_a1_m * np.expm1(self.lag_a2_per_s * t)

    def speed_ms(self, t_rel_s):
        t = np.asarray(t_rel_s, float)
        return self.v_init_ms - self.lag_a1_m * self.lag_a2_per_s * np.exp(self.lag_a2_per_s * t)

    def position_ecef(self, t_unix) -> np.ndarray:
        s = self.distance_m(np.asarray(t_unix, float) - self.t_begin_unix)
        return self.begin_ecef_m + np.multiply.outer(s, self.direction_ecef)

    def height_m(self, t_unix) -> np.ndarray:
        return ecef_to_geodetic(self.position_ecef(t_unix))[2]

    def abs_mag(self, t_unix) -> np.ndarray:
        """Absolute magnitude; FAINT_MAG outside the luminous part of the track."""
        t_rel = np.asarray(t_unix, float) - self.t_begin_unix
        x = np.exp(-(self.height_m(t_unix) - self.peak_height_m) / ATMOSPHERE_SCALE_HEIGHT_M)
        relative = 2.25 * x * (1.0 - x / 3.0) ** 2
        relative = np.where((x < 3.0) & (t_rel >= 0) & (t_rel <= self.duration_s), relative, 0.0)
        with np.errstate(divide="ignore"):
            mag = self.peak_abs_mag - 2.5 * np.log10(relative)
        for f in self.flares:
            mag = mag + f.dmag * np.exp(-0.5 * ((t_rel - f.t_rel_s) / f.width_s) ** 2)
        return np.minimum(mag, FAINT_MAG)

    @property
    def end_ecef_m(self) -> np.ndarray:
        return self.position_ecef(self.t_begin_unix + self.duration_s)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["begin_ecef_m"] = self.begin_ecef_m.tolist()
        d["direction_ecef"] = self.direction_ecef.tolist()
        d["flares"] = [asdict(f) for f in self.flares]
        return d


def default_begin_height_m(v_inf_kms: float) -> float:
    """Faster meteoroids start to glow higher: ~85 km at 11 km/s to ~110 km at 72 km/s."""
    return 1000.0 * (80.0 + 0.42 * (v_inf_kms - 11.0) + 5.0)


def default_end_height_m(begin_height_m: float, peak_abs_mag: float) -> float:
    """Brighter (more massive) meteoroids penetrate deeper: ~20 km of luminous path at mag 0."""
    depth_km = float(np.clip(20.0 + 4.0 * (0.0 - peak_abs_mag), 8.0, 70.0))
    return begin_height_m - 1000.0 * depth_km


def along_track_to_height(start_ecef_m: np.ndarray, direction: np.ndarray, height_m: float) -> float:
    """Distance (m, >= 0) along `direction` from `start_ecef_m` at which the height reaches `height_m`."""
    from scipy.optimize import brentq

    def excess(s: float) -> float:
        return float(ecef_to_geodetic(start_ecef_m + s * direction)[2] - height_m)

    sign0 = np.sign(excess(0.0))
    if sign0 == 0:
        return 0.0
    hi = 10_000.0
    while np.sign(excess(hi)) == sign0:
        hi *= 2.0
        if hi > MAX_SEARCH_M:
            raise ValueError(
                f"the track never reaches a height of {height_m / 1e3:.1f} km "
                "(is the radiant below the horizon?)"
            )
    return brentq(excess, 0.0, hi, xtol=0.01)
