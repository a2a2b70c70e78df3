"""The sky itself as scene layers: background, catalogue stars, and the meteor.

Positions are apparent and refracted exactly as the astrometry sees them: a star's ICRS place
(proper motion applied) goes through `icrs_to_altaz` with the scenario's atmosphere; the
meteor's geometric direction from the station is turned into the ICRS direction of a star that
would stand there, then through the same function. So the truth a test compares against is
"where a perfect calibration on stars would put the meteor".
"""

from __future__ import annotations

import numpy as np

from edge.catalogue.stars import load_bright_stars
from edge.geometry.celestial import Atmosphere, altaz_to_icrs, icrs_to_altaz, to_time
from edge.geometry.earth import altaz_to_enu, enu_to_altaz
from edge.photometry.extinction import airmass
from edge.sim.meteor import FAINT_MAG, MeteorTrajectory
from edge.sim.render import Canvas, SimCamera

# How finely a moving source is sampled within one exposure.
MAX_SAMPLE_STEP_PX = 0.3
MAX_SAMPLES = 400


def pixel_altitudes(camera: SimCamera, step_px: int = 16) -> np.ndarray:
    """Apparent altitude of every pixel, from a coarse grid (the sky is smooth at that scale)."""
    from scipy.ndimage import map_coordinates

    height, width = camera.shape
    ys = np.arange(0, height + step_px, step_px, dtype=float)
    xs = np.arange(0, width + step_px, step_px, dtype=float)
    gx, gy = np.meshgrid(xs, ys)
    alt, _az = enu_to_altaz(camera.model.pixel_to_enu(gx, gy))
    rows = (np.arange(height, dtype=np.float32) / step_px)[:, None]
    cols = (np.arange(width, dtype=np.float32) / step_px)[None, :]
    grid = np.broadcast_arrays(rows, cols)
    return map_coordinates(alt.astype(np.float32), grid, order=1, mode="nearest")


class SkyBackgroundLayer:
    """Airglow and light pollution: the zenith brightness, brighter toward the horizon (van Rhijn
    path length ~ airmass) and dimmed by extinction, as in Krisciunas & Schaefer's dark-sky term."""

    name = "sky"

    def __init__(self, sky_mag_arcsec2: float, extinction: float) -> None:
        self.sky_mag_arcsec2 = sky_mag_arcsec2
        self.extinction = extinction
        self._image: np.ndarray | None = None

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        x = airmass(np.maximum(pixel_altitudes(camera), 0.0))
        pixel_area_arcsec2 = (camera.model.pixel_scale_arcmin * 60.0) ** 2
        zenith_e = camera.profile.electrons(self.sky_mag_arcsec2, exposure_s) * pixel_area_arcsec2
        self._image = (zenith_e * x * 10.0 ** (-0.4 * self.extinction * (x - 1.0))).astype(np.float32)

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> None:
        canvas.diffuse_e = canvas.diffuse_e + self._image


class StarLayer:
    """Hipparcos stars at their apparent places, extinguished by airmass, twinkling."""

    name = "stars"

    def __init__(
        self, atmosphere: Atmosphere | None, extinction: float, scintillation_zenith: float, limit_vmag: float
    ) -> None:
        self.atmosphere = atmosphere
        self.extinction = extinction
        self.scintillation_zenith = scintillation_zenith
        self.catalogue = load_bright_stars(limit_vmag)

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        self.camera = camera
        self.exposure_s = exposure_s
        t_mid = float(np.mean(t_mid_unix))
        ra, dec = self.catalogue.positions_at(to_time(t_mid))
        # pick the stars in (or just outside) this camera's field at mid-clip, then follow them
        alt, az = icrs_to_altaz(ra, dec, to_time(t_mid), camera.site, refraction=self.atmosphere)
        x, y = camera.model.enu_to_pixel(altaz_to_enu(alt, az))
        margin = 10.0
        h, w = camera.shape
        near = (
            np.isfinite(x) & (x > -margin) & (x < w + margin) & (y > -margin) & (y < h + margin) & (alt > 0)
        )
        self.index = np.flatnonzero(near)
        times = to_time(np.asarray(t_mid_unix, float)[:, None])
        alt_t, az_t = icrs_to_altaz(ra[near], dec[near], times, camera.site, refraction=self.atmosphere)
        self.x, self.y = camera.model.enu_to_pixel(altaz_to_enu(alt_t, az_t))  # (frames, stars)
        self.alt = alt_t
        vmag = self.catalogue.vmag[near]
        self.apparent_mag = vmag + self.extinction * airmass(alt_t)
        self.twinkle_sigma = self.scintillation_zenith * airmass(alt_t) ** 1.75

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> None:
        sigma = self.twinkle_sigma[k]
        twinkle = np.exp(sigma * rng.standard_normal(sigma.shape) - 0.5 * sigma**2)
        electrons = self.camera.profile.electrons(self.apparent_mag[k], self.exposure_s) * twinkle
        canvas.add_points(self.x[k], self.y[k], electrons, self.camera.psf_sigma_px)

    def truth(self, k: int) -> list[dict]:
        """The stars in frame k: HIP number, V, apparent V (with extinction) and pixel position."""
        h, w = self.camera.shape
        inside = (self.x[k] >= 0) & (self.x[k] <= w - 1) & (self.y[k] >= 0) & (self.y[k] <= h - 1)
        idx = np.flatnonzero(inside)
        cat = self.catalogue
        return [
            {
                "hip": int(cat.hip[self.index[i]]),
                "vmag": round(float(cat.vmag[self.index[i]]), 3),
                "apparent_mag": round(float(self.apparent_mag[k, i]), 3),
                "x_px": round(float(self.x[k, i]), 4),
                "y_px": round(float(self.y[k, i]), 4),
            }
            for i in idx
        ]


class MeteorLayer:
    """The meteor, smeared over each exposure, with range, extinction and refraction."""

    name = "meteor"

    def __init__(self, meteor: MeteorTrajectory, atmosphere: Atmosphere | None, extinction: float) -> None:
        self.meteor = meteor
        self.atmosphere = atmosphere
        self.extinction = extinction

    def observe(self, camera: SimCamera, t_unix: np.ndarray) -> dict[str, np.ndarray]:
        """Where and how bright the meteor is for this camera at true times `t_unix` (any shape)."""
        t_unix = np.asarray(t_unix, float)
        points = self.meteor.position_ecef(t_unix)
        alt_g, az_g, range_m = camera.site.altaz_of(points)
        times = to_time(t_unix)
        ra, dec = altaz_to_icrs(alt_g, az_g, times, camera.site, refraction=None)
        alt, az = icrs_to_altaz(ra, dec, times, camera.site, refraction=self.atmosphere)
        x, y = camera.model.enu_to_pixel(altaz_to_enu(alt, az))
        abs_mag = self.meteor.abs_mag(t_unix)
        mag = abs_mag + 5.0 * np.log10(range_m / 100e3) + self.extinction * airmass(alt)
        mag = np.where((alt_g > 0) & (abs_mag < FAINT_MAG), mag, np.inf)
        return {
            "x_px": x,
            "y_px": y,
            "ra_deg": ra,
            "dec_deg": dec,
            "alt_deg": alt,
            "az_deg": az,
            "range_m": range_m,
            "abs_mag": abs_mag,
            "mag": mag,
        }

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        self.camera = camera
        self.exposure_s = exposure_s
        self.t_mid = np.asarray(t_mid_unix, float)
        self.mid = self.observe(camera, self.t_mid)
        # samples across each exposure, fine enough that the smear is smooth
        edges = self.observe(camera, np.stack([self.t_mid - exposure_s / 2, self.t_mid + exposure_s / 2], -1))
        motion = np.hypot(*(np.diff(np.stack([edges["x_px"], edges["y_px"]]), axis=-1)[..., 0]))
        motion = np.where(np.isfinite(motion), motion, 0.0)
        self.n_samples = np.clip(np.ceil(motion / MAX_SAMPLE_STEP_PX), 8, MAX_SAMPLES).astype(int)

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> dict | None:
        t0 = self.t_mid[k] - self.exposure_s / 2
        if not (
            self.meteor.t_begin_unix <= t0 + self.exposure_s
            and t0 <= self.meteor.t_begin_unix + self.meteor.duration_s
        ):
            return None
        n = self.n_samples[k]
        t = t0 + (np.arange(n) + 0.5) * (self.exposure_s / n)
        obs = self.observe(self.camera, t)
        electrons = self.camera.profile.electrons(obs["mag"], self.exposure_s / n)
        lit = electrons > 0
        if not lit.any():
            return None
        canvas.add_points(obs["x_px"][lit], obs["y_px"][lit], electrons[lit], self.camera.psf_sigma_px)
        h, w = self.camera.shape
        in_frame = bool(
            np.any(
                (obs["x_px"][lit] >= 0)
                & (obs["x_px"][lit] <= w - 1)
                & (obs["y_px"][lit] >= 0)
                & (obs["y_px"][lit] <= h - 1)
            )
        )
        weights = electrons[lit]
        total_e = float(weights.sum())
        mid = {key: float(v[k]) for key, v in self.mid.items()}
        return {
            "in_frame": in_frame,
            "x_px": mid["x_px"],
            "y_px": mid["y_px"],  # at mid-exposure
            # the light-weighted centre of the smear: what an ideal centroid measures
            "centroid_x_px": float(np.average(obs["x_px"][lit], weights=weights)),
            "centroid_y_px": float(np.average(obs["y_px"][lit], weights=weights)),
            "ra_deg": mid["ra_deg"],
            "dec_deg": mid["dec_deg"],
            "alt_deg": mid["alt_deg"],
            "az_deg": mid["az_deg"],
            "range_m": mid["range_m"],
            "abs_mag": mid["abs_mag"],
            "apparent_mag": float(
                -2.5 * np.log10(total_e / self.camera.profile.electrons(0.0, self.exposure_s))
            ),
            "electrons": total_e,
        }
