"""Shared helpers of the distractor layers: extinction, sub-exposure sampling, projection."""

from __future__ import annotations

import math
import zlib

import numpy as np

from edge.geometry.earth import enu_to_altaz
from edge.photometry.extinction import DEFAULT_K_V_MAG, extincted_mag
from edge.sim.render import SimCamera

EXTINCTION_K_MAG = DEFAULT_K_V_MAG
EARTH_RADIUS_M = 6_371_008.8
ARCSEC2_PER_SR = (180.0 / math.pi * 3600.0) ** 2
LUX_OF_V0 = 2.54e-6  # illuminance of a V = 0 source above the atmosphere, lux
CD_M2_OF_V0_ARCSEC2 = 1.08e5  # luminance of a 0 V mag/arcsec^2 surface, cd/m^2 (lux/sr)
MOON_RADIUS_DEG = 0.259  # mean apparent angular radius
MAX_STEP_PX = 0.45  # largest spacing of the sub-exposure samples of a moving point source
_MAX_SAMPLES = 4000


def _electrons(camera: SimCamera, mag, duration_s: float, alt_deg, k_mag: float) -> np.ndarray:
    """Photo-electrons over duration_s of a source of above-atmosphere V `mag`; zero below the horizon."""
    m = extincted_mag(mag, alt_deg, k_mag)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.asarray(camera.profile.electrons(m, duration_s), float)
    return np.where(np.isfinite(e) & (np.asarray(alt_deg) > 0.0), e, 0.0)


def _sub_times(t_mid_unix: np.ndarray, exposure_s: float, n: int) -> np.ndarray:
    """(frames, n) sample times, centred in n equal slices of each exposure."""
    frac = (np.arange(n) + 0.5) / n - 0.5
    return np.asarray(t_mid_unix, float)[:, None] + exposure_s * frac[None, :]


def _samples_needed(x0, y0, x1, y1, max_step_px: float = MAX_STEP_PX) -> int:
    """Sub-samples per exposure so that consecutive positions are under max_step_px apart."""
    d = np.hypot(np.asarray(x1) - x0, np.asarray(y1) - y0)
    d = d[np.isfinite(d)]
    longest = float(d.max()) if d.size else 0.0
    return int(min(max(2, math.ceil(longest / max_step_px) + 1), _MAX_SAMPLES))


def _seed_for(seed: int, *names: str) -> np.random.Generator:
    """A generator that depends only on the layer seed and the given names (stable across runs)."""
    return np.random.default_rng([seed, *(zlib.crc32(n.encode()) for n in names)])


def _project(camera: SimCamera, ecef_m: np.ndarray):
    """(x_px, y_px, alt_deg, az_deg, range_m) of ECEF point(s) seen by a camera; NaN pixels off-camera."""
    enu = camera.site.ecef_to_enu(ecef_m)
    x, y = camera.model.enu_to_pixel(enu)
    alt, az = enu_to_altaz(enu)
    return x, y, alt, az, np.linalg.norm(enu, axis=-1)


def _periodic_on_time(t0, t1, period_s: float, phase_s: float, on_s: float) -> np.ndarray:
    """Seconds within [t0, t1] during which a light with the given period, phase and flash length is on."""

    def cumulative(t):
        u = np.asarray(t, float) - phase_s
        n = np.floor(u / period_s)
        return n * on_s + np.minimum(u - n * period_s, on_s)

    return cumulative(t1) - cumulative(t0)


class _CoarseGrid:
    """A camera's pixel directions on a coarse grid, for smooth per-pixel fields (sky, cloud).

    Fields computed on the grid are brought to full resolution by separable linear interpolation.
    """

    def __init__(self, camera: SimCamera, step_px: int) -> None:
        model = camera.model
        h, w = camera.shape
        self.shape = (h, w)
        self.xc = np.unique(np.r_[np.arange(0, w, step_px), w - 1]).astype(float)
        self.yc = np.unique(np.r_[np.arange(0, h, step_px), h - 1]).astype(float)
        x, y = np.meshgrid(self.xc, self.yc)
        self.enu = model.pixel_to_enu(x, y)
        self.alt_deg, self.az_deg = enu_to_altaz(self.enu)
        dx = model.pixel_to_enu(x + 0.5, y) - model.pixel_to_enu(x - 0.5, y)
        dy = model.pixel_to_enu(x, y + 0.5) - model.pixel_to_enu(x, y - 0.5)
        self.solid_angle_arcsec2 = np.linalg.norm(np.cross(dx, dy), axis=-1) * ARCSEC2_PER_SR
        self._rows = self._weights(np.arange(h, dtype=float), self.yc)
        self._cols = self._weights(np.arange(w, dtype=float), self.xc)

    @staticmethod
    def _weights(full: np.ndarray, coarse: np.ndarray):
        i = np.clip(np.searchsorted(coarse, full, side="right") - 1, 0, len(coarse) - 2)
        f = (full - coarse[i]) / (coarse[i + 1] - coarse[i])
        return i, f.astype(np.float32)

    def upsample(self, field_c: np.ndarray) -> np.ndarray:
        """Full-resolution float32 image of a field given on the coarse grid."""
        c = np.asarray(field_c, np.float32)
        (ri, rf), (ci, cf) = self._rows, self._cols
        rows = c[ri] * (1.0 - rf[:, None]) + c[ri + 1] * rf[:, None]
        return rows[:, ci] * (1.0 - cf[None, :]) + rows[:, ci + 1] * cf[None, :]


def _coarse_step(camera: SimCamera) -> int:
    return max(2, int(max(camera.shape) // 160))
