"""Satellites: LEO objects on straight Earth-fixed tracks, steady or glinting, single or in trains."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.geometry.earth import ecef_to_geodetic
from edge.photometry.extinction import extincted_mag
from edge.sim.distractors.common import EXTINCTION_K_MAG, _electrons, _project, _samples_needed, _sub_times
from edge.sim.render import Canvas, SimCamera


@dataclass(frozen=True)
class Satellite:
    """A satellite on a straight Earth-fixed line (good for a few seconds), possibly glinting.

    Brightness: `mag_1000km` is its above-atmosphere V magnitude at 1,000 km range (scaled by
    the inverse square of the range, phase effects ignored); a glint brightens it by `flare_dmag`
    with a Gaussian time profile of full width `flare_fwhm_s` centred on `flare_t_unix`.
    """

    id: str
    r0_ecef_m: np.ndarray  # position at t0_unix
    v_ecef_ms: np.ndarray
    t0_unix: float
    mag_1000km: float
    flare_t_unix: float | None = None
    flare_dmag: float = 0.0
    flare_fwhm_s: float = 0.5
    train_id: str | None = None

    def position_ecef(self, t_unix) -> np.ndarray:
        """ECEF position(s) in metres, shape (..., 3), at POSIX time(s) t_unix."""
        dt = np.asarray(t_unix, float)[..., None] - self.t0_unix
        return np.asarray(self.r0_ecef_m, float) + dt * np.asarray(self.v_ecef_ms, float)

    def mag_at(self, t_unix, range_m) -> np.ndarray:
        """Above-atmosphere V magnitude at time(s) t_unix seen from range(s) range_m."""
        m = self.mag_1000km + 5.0 * np.log10(np.asarray(range_m, float) / 1.0e6)
        if self.flare_t_unix is not None and self.flare_dmag > 0:
            s = self.flare_fwhm_s / 2.3548
            dt = np.asarray(t_unix, float) - self.flare_t_unix
            m = m - self.flare_dmag * np.exp(-0.5 * (dt / s) ** 2)
        return m


@dataclass
class _Track:
    """One object's smeared image in one camera: per frame, per sub-sample pixels and electrons."""

    x: np.ndarray  # (frames, n)
    y: np.ndarray
    e: np.ndarray
    truth: list[dict | None]


class SatelliteLayer:
    """Satellites (single or in trains), shared by all cameras, smeared over each exposure."""

    name = "satellites"

    def __init__(self, satellites: list[Satellite], k_mag: float = EXTINCTION_K_MAG) -> None:
        self.k_mag = k_mag
        self.satellites = list(satellites)
        self._tracks: list[_Track] = []
        self._sigma_px = 1.0

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        t_mid = np.asarray(t_mid_unix, float)
        self._sigma_px = camera.psf_sigma_px
        self._tracks = []
        for sat in self.satellites:
            xa, ya, *_ = _project(camera, sat.position_ecef(t_mid - exposure_s / 2))
            xb, yb, *_ = _project(camera, sat.position_ecef(t_mid + exposure_s / 2))
            n = _samples_needed(xa, ya, xb, yb)
            ts = _sub_times(t_mid, exposure_s, n)
            x, y, alt, _az, rng_m = _project(camera, sat.position_ecef(ts))
            e = _electrons(camera, sat.mag_at(ts, rng_m), exposure_s / n, alt, self.k_mag)
            xm, ym, altm, azm, rm = _project(camera, sat.position_ecef(t_mid))
            magm = extincted_mag(sat.mag_at(t_mid, rm), altm, self.k_mag)
            inside = camera.model.in_frame(xm, ym) & (altm > 0)
            truth: list[dict | None] = []
            for k in range(len(t_mid)):
                if not inside[k]:
                    truth.append(None)
                    continue
                truth.append({
                    "kind": "satellite", "id": sat.id, "train_id": sat.train_id,
                    "x_px": float(xm[k]), "y_px": float(ym[k]), "mag": float(magm[k]),
                    "alt_deg": float(altm[k]), "az_deg": float(azm[k]), "range_m": float(rm[k]),
                    "x_start_px": float(x[k, 0]), "y_start_px": float(y[k, 0]),
                    "x_end_px": float(x[k, -1]), "y_end_px": float(y[k, -1]),
                    "flaring": bool(sat.flare_t_unix is not None and sat.flare_dmag > 0
                                    and abs(t_mid[k] - sat.flare_t_unix) < sat.flare_fwhm_s),
                })  # fmt: skip
            self._tracks.append(_Track(x, y, e, truth))

    def describe(self) -> dict:
        """JSON-safe description of every satellite, for the truth file."""
        return {"layer": self.name, "satellites": [{
            "id": s.id, "train_id": s.train_id, "t0_unix": s.t0_unix,
            "r0_ecef_m": [float(v) for v in s.r0_ecef_m], "v_ecef_ms": [float(v) for v in s.v_ecef_ms],
            "height_m": float(ecef_to_geodetic(s.r0_ecef_m)[2]), "mag_1000km": s.mag_1000km,
            "flare_t_unix": s.flare_t_unix, "flare_dmag": s.flare_dmag, "flare_fwhm_s": s.flare_fwhm_s,
        } for s in self.satellites]}  # fmt: skip

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> list[dict]:
        out = []
        for tr in self._tracks:
            canvas.add_points(tr.x[k], tr.y[k], tr.e[k], self._sigma_px)
            if tr.truth[k] is not None:
                out.append(tr.truth[k])
        return out
