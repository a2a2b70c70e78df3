"""The Moon: its disc and glare, and the moonlit sky (Krisciunas & Schaefer 1991)."""

from __future__ import annotations

import math

import numpy as np

from edge.geometry.earth import enu_to_altaz
from edge.photometry.extinction import extincted_mag
from edge.sim.distractors.common import (
    ARCSEC2_PER_SR,
    EXTINCTION_K_MAG,
    MOON_RADIUS_DEG,
    _coarse_step,
    _CoarseGrid,
)
from edge.sim.render import Canvas, SimCamera


def moon_vmag(phase_angle_deg) -> np.ndarray:
    """Above-atmosphere V magnitude of the Moon at mean distance (K&S 1991 eq. 9, Allen's fit)."""
    a = np.abs(np.asarray(phase_angle_deg, float))
    return -12.73 + 0.026 * a + 4e-9 * a**4


def ks_moon_sky_nl(phase_angle_deg, rho_deg, moon_zd_deg, sky_zd_deg, k_mag: float = EXTINCTION_K_MAG):
    """Krisciunas & Schaefer (1991) moonlight sky brightness in nanoLamberts (V).

    phase_angle_deg: Sun-Moon-observer angle (0 at full); rho_deg: angle between the sky point and the
    Moon; moon_zd_deg, sky_zd_deg: zenith distances. Eqs. 15-21: Rayleigh plus Mie scattering
    f(rho), the Moon's illuminance I*, their airmass
    X(Z) = (1 - 0.96 sin^2 Z)^-1/2. Zero where the Moon or the sky point is below the horizon.
    Inside 10 deg K&S replace the Mie term 10^(6.15 - rho/40) by 6.2e7/rho^2, which is 22 % lower
    at 10 deg; the larger of the two is used here so that the sky has no ring at 10 deg (the
    difference is confined to 9-10 deg from the Moon).
    """
    alpha = np.abs(np.asarray(phase_angle_deg, float))
    rho = np.maximum(np.asarray(rho_deg, float), MOON_RADIUS_DEG)
    zm = np.asarray(moon_zd_deg, float)
    z = np.asarray(sky_zd_deg, float)
    istar = 10.0 ** (-0.4 * (3.84 + 0.026 * alpha + 4e-9 * alpha**4))
    mie = 10.0 ** (6.15 - rho / 40.0)
    mie = np.where(rho >= 10.0, mie, np.maximum(mie, 6.2e7 / rho**2))
    f_rho = 10.0**5.36 * (1.06 + np.cos(np.radians(rho)) ** 2) + mie

    def x_ks(zd):
        return 1.0 / np.sqrt(1.0 - 0.96 * np.sin(np.radians(np.clip(zd, 0.0, 90.0))) ** 2)

    b = f_rho * istar * 10.0 ** (-0.4 * k_mag * x_ks(zm)) * (1.0 - 10.0 ** (-0.4 * k_mag * x_ks(z)))
    return np.where((zm < 90.0) & (z < 90.0), b, 0.0)


def nl_to_mag_arcsec2(b_nl) -> np.ndarray:
    """V mag/arcsec^2 of a surface brightness in nanoLamberts (K&S 1991 eq. 1); inf for zero."""
    b = np.asarray(b_nl, float)
    with np.errstate(divide="ignore"):
        return np.where(b > 0, (20.7233 - np.log(np.maximum(b, 1e-300) / 34.08)) / 0.92104, np.inf)


class MoonLayer:
    """The real Moon (astropy ephemeris): moonlit sky (K&S 1991) on the diffuse plane, and its
    saturating disc plus a lens-glare halo when it is in or near the frame."""

    name = "moon"

    def __init__(
        self, k_mag: float = EXTINCTION_K_MAG, glare_fraction: float = 0.02, glare_radius_deg: float = 1.5
    ) -> None:
        self.k_mag = k_mag
        self.glare_fraction = glare_fraction
        self.glare_radius_deg = glare_radius_deg
        self._sky_e: np.ndarray | None = None
        self._disc: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._truth: dict | None = None
        self._sigma_px = 1.0

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        from edge.geometry.celestial import moon_altaz_and_phase  # astropy: imported when needed

        t_mid = np.asarray(t_mid_unix, float)
        t_c = float(t_mid[len(t_mid) // 2])  # the Moon moves 0.5 deg an hour: one epoch per clip
        alt_m, az_m, frac = (float(v) for v in moon_altaz_and_phase(t_c, camera.site))
        phase_deg = math.degrees(math.acos(min(1.0, max(-1.0, 2.0 * frac - 1.0))))
        self._sigma_px = camera.psf_sigma_px
        grid = _CoarseGrid(camera, _coarse_step(camera))
        moon_dir = np.array([math.cos(math.radians(alt_m)) * math.sin(math.radians(az_m)),
                             math.cos(math.radians(alt_m)) * math.cos(math.radians(az_m)),
                             math.sin(math.radians(alt_m))])  # fmt: skip
        rho = np.degrees(np.arccos(np.clip(grid.enu @ moon_dir, -1.0, 1.0)))
        b_nl = ks_moon_sky_nl(phase_deg, rho, 90.0 - alt_m, 90.0 - grid.alt_deg, self.k_mag)
        sb = nl_to_mag_arcsec2(b_nl)
        e_sky = camera.profile.electrons(sb, exposure_s) * grid.solid_angle_arcsec2  # sb = inf gives 0
        mag_moon = float(extincted_mag(moon_vmag(phase_deg), alt_m, self.k_mag))
        e_moon = float(camera.profile.electrons(mag_moon, exposure_s)) if alt_m > 0 else 0.0
        # Lens glare: a Moffat (beta = 2) halo holding glare_fraction of the Moon's light.
        r0 = math.radians(self.glare_radius_deg)
        moffat = (1.0 + (np.radians(rho) / r0) ** 2) ** -2
        halo_per_sr = self.glare_fraction * e_moon / (math.pi * r0**2) * moffat
        e_sky = e_sky + halo_per_sr * grid.solid_angle_arcsec2 / ARCSEC2_PER_SR
        self._sky_e = grid.upsample(e_sky) if alt_m > 0 else None
        xm, ym = (float(v) for v in camera.model.altaz_to_pixel(alt_m, az_m))
        r_px = MOON_RADIUS_DEG * 60.0 / camera.model.pixel_scale_arcmin
        in_frame = bool(alt_m > 0 and np.isfinite(xm) and camera.model.in_frame(xm, ym))
        self._disc = None
        if (
            alt_m > 0
            and np.isfinite(xm)
            and -r_px - 5 < xm < camera.shape[1] + r_px + 5
            and -r_px - 5 < ym < camera.shape[0] + r_px + 5
        ):
            step = min(0.5, r_px / 3.0)
            g = np.arange(-r_px, r_px + step / 2, step)
            dx, dy = np.meshgrid(g, g)
            inside = np.hypot(dx, dy) <= r_px
            dx, dy = dx[inside], dy[inside]
            self._disc = (xm + dx, ym + dy, np.full(dx.shape, e_moon / dx.size))
        centre = camera.model.pixel_to_enu((camera.shape[1] - 1) / 2, (camera.shape[0] - 1) / 2)
        c_alt, _ = enu_to_altaz(centre)
        rho_c = math.degrees(math.acos(float(np.clip(centre @ moon_dir, -1, 1))))
        b_c = ks_moon_sky_nl(phase_deg, rho_c, 90 - alt_m, 90 - float(c_alt), self.k_mag)
        sb_c = float(nl_to_mag_arcsec2(b_c))
        self._truth = {
            "kind": "moon", "id": "moon", "alt_deg": alt_m, "az_deg": az_m, "illuminated_fraction": frac,
            "phase_angle_deg": phase_deg, "mag": mag_moon, "in_frame": in_frame,
            "x_px": xm if in_frame else None, "y_px": ym if in_frame else None,
            "moon_sky_mag_arcsec2_at_centre": sb_c if math.isfinite(sb_c) else None,
        }  # fmt: skip

    def describe(self) -> dict:
        return {"layer": self.name, "extinction_k_mag": self.k_mag, "glare_fraction": self.glare_fraction,
                "glare_radius_deg": self.glare_radius_deg}  # fmt: skip

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> list[dict]:
        if self._sky_e is not None:
            canvas.add_image(self._sky_e, "diffuse")
        if self._disc is not None:
            canvas.add_points(*self._disc, self._sigma_px)
        return [dict(self._truth)] if self._truth is not None else []
