"""Clouds: a drifting deck per station that dims the sky and scatters moonlight and skyglow."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from edge.photometry.extinction import extincted_mag
from edge.sim.distractors.common import (
    CD_M2_OF_V0_ARCSEC2,
    EXTINCTION_K_MAG,
    LUX_OF_V0,
    _coarse_step,
    _CoarseGrid,
    _seed_for,
)
from edge.sim.distractors.moon import moon_vmag
from edge.sim.render import Canvas, SimCamera


@dataclass
class _CloudDeck:
    """One station's cloud deck: a smooth random field on a horizontal plane, in units of its std."""

    height_m: float
    radius_m: float
    octaves: list[tuple[np.ndarray, float, float]]  # (grid, cell_m, weight)
    wind_en_ms: np.ndarray
    t0_unix: float
    threshold: float = 0.0

    def value(self, e_m: np.ndarray, n_m: np.ndarray, t_unix: float) -> np.ndarray:
        """Field value (std units) at deck point(s) east e_m, north n_m of the station, at t_unix."""
        dt_s = t_unix - self.t0_unix
        e = e_m - self.wind_en_ms[0] * dt_s + self.radius_m
        n = n_m - self.wind_en_ms[1] * dt_s + self.radius_m
        out = np.zeros(np.shape(e_m))
        for grid, cell, weight in self.octaves:
            out += weight * ndimage.map_coordinates(grid, [n / cell, e / cell], order=1, mode="nearest")
        return out


class CloudLayer:
    """Clouds: per station a drifting random deck at `height_m` (a few octaves of Gaussian-filtered
    noise) seen through each camera's pixels. Sets `canvas.transmission` (0.05..1) and adds the
    cloud's own light (reflected skyglow, and moonlight when the Moon is up) to `canvas.diffuse_e`.

    `cover` is the fraction of the station's imaged sky that is covered at mid-clip: the deck's
    threshold is set on the pixels of the station's cameras (those passed as `cameras`, or the
    first camera of the station to be prepared). A pixel is covered when its opacity exceeds 0.5.
    """

    name = "clouds"

    def __init__(self, cover: float, seed: int, *, height_m: float = 3000.0, wind_ms: float = 10.0,
                 wind_dir_deg: float = 0.0, glow_mag_arcsec2: float = 20.5, moon_albedo: float = 0.5,
                 scales_m: tuple[float, ...] = (300.0, 900.0, 2500.0), edge_width: float = 0.6,
                 cameras: list[SimCamera] | None = None,
                 k_mag: float = EXTINCTION_K_MAG) -> None:  # fmt: skip
        if not 0.0 <= cover <= 1.0:
            raise ValueError(f"cover: {cover} is outside 0..1")
        if not height_m > 0:
            raise ValueError(f"height_m: {height_m} must be positive")
        self.cover = float(cover)
        self.seed = int(seed)
        self.height_m = float(height_m)
        w = math.radians(wind_dir_deg)  # direction the wind blows toward
        self.wind_en_ms = np.array([wind_ms * math.sin(w), wind_ms * math.cos(w)])
        self.glow_mag_arcsec2 = glow_mag_arcsec2
        self.k_mag = k_mag
        self.moon_albedo = moon_albedo
        self.scales_m = scales_m
        self.edge_width = edge_width
        self._calibration = list(cameras or [])
        self._decks: dict[str, _CloudDeck] = {}

    # -- geometry
    def _plane_en(self, camera: SimCamera, grid: _CoarseGrid) -> tuple[np.ndarray, np.ndarray]:
        """East/north (m) where each coarse pixel's ray meets the deck (rays kept above 3 deg altitude)."""
        up = np.maximum(grid.enu[..., 2], math.sin(math.radians(3.0)))
        horiz = np.hypot(grid.enu[..., 0], grid.enu[..., 1])
        dist = (self.height_m - camera.site.height_m) / up
        scale = np.where(horiz > 0, dist * np.sqrt(np.maximum(1 - up**2, 0)) / np.maximum(horiz, 1e-12), 0)
        return grid.enu[..., 0] * scale, grid.enu[..., 1] * scale

    def _deck(self, camera: SimCamera, t_c: float, duration_s: float) -> _CloudDeck:
        sid = camera.station_id
        if sid in self._decks:
            return self._decks[sid]
        rng = _seed_for(self.seed, "cloud", sid)
        radius = (self.height_m - camera.site.height_m) / math.tan(math.radians(3.0)) + float(
            np.linalg.norm(self.wind_en_ms)
        ) * (duration_s + 10.0)
        octaves = []
        weights = np.array([0.35, 0.6, 1.0][-len(self.scales_m):] if len(self.scales_m) <= 3
                           else np.ones(len(self.scales_m)))  # fmt: skip
        for scale, weight in zip(self.scales_m, weights, strict=True):
            cell = max(scale / 4.0, 2.0 * radius / 2048.0)
            n = int(math.ceil(2.0 * radius / cell)) + 2
            g = ndimage.gaussian_filter(rng.standard_normal((n, n)), scale / cell, mode="wrap")
            g /= g.std()
            octaves.append((g.astype(np.float32), cell, float(weight)))
        total = math.sqrt(sum(w * w for _, _, w in octaves))
        octaves = [(g, c, w / total) for g, c, w in octaves]
        deck = _CloudDeck(self.height_m, radius, octaves, self.wind_en_ms, t_c)
        # Threshold from the station's cameras at mid-clip.
        same = [c for c in self._calibration if c.station_id == sid] or [camera]
        values = []
        for cam in same:
            g = _CoarseGrid(cam, _coarse_step(cam))
            e, n_ = self._plane_en(cam, g)
            values.append(deck.value(e, n_, t_c).ravel())
        v = np.concatenate(values)
        if self.cover <= 0.0:
            deck.threshold = np.inf
        elif self.cover >= 1.0:
            deck.threshold = -np.inf
        else:
            deck.threshold = float(np.quantile(v, 1.0 - self.cover))
        self._decks[sid] = deck
        return deck

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        from edge.geometry.celestial import moon_altaz_and_phase

        t_mid = np.asarray(t_mid_unix, float)
        t_c = float(t_mid[len(t_mid) // 2])
        deck = self._deck(camera, t_c, float(np.ptp(t_mid)))
        grid = _CoarseGrid(camera, _coarse_step(camera))
        e_m, n_m = self._plane_en(camera, grid)
        # The cloud's own light per pixel per exposure (electrons), where fully opaque.
        sb_lin = 10.0 ** (-0.4 * self.glow_mag_arcsec2)  # in units of a 0 mag/arcsec^2 surface
        alt_m, _az, frac = (float(v) for v in moon_altaz_and_phase(t_c, camera.site))
        if alt_m > 0:
            phase = math.degrees(math.acos(min(1.0, max(-1.0, 2 * frac - 1))))
            lux = LUX_OF_V0 * 10.0 ** (-0.4 * float(extincted_mag(moon_vmag(phase), alt_m, self.k_mag)))
            lum_cd_m2 = self.moon_albedo * lux * math.sin(math.radians(alt_m)) / math.pi
            sb_lin += lum_cd_m2 / CD_M2_OF_V0_ARCSEC2
        glow_e = float(camera.profile.electrons(0.0, exposure_s)) * sb_lin * grid.solid_angle_arcsec2
        glow_e = grid.upsample(np.where(grid.alt_deg > 0, glow_e, 0.0))
        self._state = (deck, grid, e_m, n_m, glow_e, t_mid, camera.station_id)

    def opacity(self, k: int) -> np.ndarray:
        """Full-resolution cloud opacity (0..1) of frame k of the camera last prepared."""
        deck, grid, e_m, n_m, _glow, t_mid, _sid = self._state
        f = deck.value(e_m, n_m, float(t_mid[k]))
        with np.errstate(invalid="ignore"):
            op = np.clip(0.5 + (f - deck.threshold) / self.edge_width, 0.0, 1.0)
        op = np.where(np.isnan(op), 0.0 if deck.threshold == np.inf else 1.0, op)
        op = np.where(grid.alt_deg > 0, op, 0.0)
        return np.clip(grid.upsample(op), 0.0, 1.0)

    def describe(self) -> dict:
        return {"layer": self.name, "cover": self.cover, "height_m": self.height_m, "seed": self.seed,
                "wind_en_ms": [float(v) for v in self.wind_en_ms], "glow_mag_arcsec2": self.glow_mag_arcsec2,
                "thresholds": {sid: d.threshold for sid, d in self._decks.items()}}  # fmt: skip

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> list[dict]:
        deck, grid, _e, _n, glow_e, _t, sid = self._state
        op = self.opacity(k)
        trans = 1.0 - np.float32(0.95) * op
        canvas.transmission = canvas.transmission * trans
        canvas.add_image(op * glow_e, "diffuse")
        return [{
            "kind": "cloud", "id": f"cloud-{sid}", "cover_fraction": float(np.mean(op > 0.5)),
            "mean_transmission": float(trans.mean()), "height_m": deck.height_m,
        }]  # fmt: skip
