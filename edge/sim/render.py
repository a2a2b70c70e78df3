"""Drawing simulated frames: what every scene layer (stars, meteor, distractors) draws onto,
and the sensor that turns light into 8-bit pixels.

A frame is built in photo-electrons on three planes, because clouds dim what is above the
atmosphere but not what is on the lens:
- `sky_e`: light from above the atmosphere (stars, meteor, satellites, aircraft, the Moon's
  disc); multiplied by the cloud transmission;
- `diffuse_e`: scattered light in the atmosphere (sky background, moonlit cloud), added after;
- `near_e`: things at the lens (insects), added last.
Then shot noise, read noise, gain, bias, hot pixels and 8-bit clipping (`Sensor.read_out`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
from scipy.special import erf

from edge.camera.profiles import CameraProfile
from edge.geometry.earth import Site

if TYPE_CHECKING:
    from edge.astrometry.camera_model import CameraModel

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


@dataclass
class SimCamera:
    """One simulated camera: where it stands, how it maps the sky, and its sensor."""

    station_id: str
    camera_id: str
    site: Site
    model: CameraModel  # the true camera model (what a perfect calibration would find)
    profile: CameraProfile
    nominal_model: CameraModel | None = None  # what the station's config says: the calibration's start
    clock_offset_s: float = 0.0  # station clock minus true UTC
    jitter_s: float = 0.0  # RMS of random frame-time errors
    hot_pixels: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (x, y, extra ADU)

    @property
    def shape(self) -> tuple[int, int]:
        return self.model.height_px, self.model.width_px

    @property
    def psf_sigma_px(self) -> float:
        return self.profile.psf_fwhm_px / FWHM_PER_SIGMA


@dataclass
class Canvas:
    """The light falling on one camera's sensor during one exposure, in photo-electrons."""

    shape: tuple[int, int]
    sky_e: np.ndarray = field(init=False)
    diffuse_e: np.ndarray | float = 0.0
    near_e: np.ndarray | float = 0.0
    transmission: np.ndarray | float = 1.0

    def __post_init__(self) -> None:
        self.sky_e = np.zeros(self.shape, np.float32)

    def add_points(self, x_px, y_px, electrons, sigma_px: float, plane: str = "sky") -> None:
        """Add Gaussian spots (one per sample) of given total electrons; off-frame parts are dropped."""
        target = self.sky_e if plane == "sky" else self._plane(plane)
        add_gaussians(target, x_px, y_px, electrons, sigma_px)

    def _plane(self, plane: str) -> np.ndarray:
        current = getattr(self, f"{plane}_e")
        if np.isscalar(current):
            current = np.full(self.shape, current, np.float32)
            setattr(self, f"{plane}_e", current)
        return current

    def add_image(self, image_e: np.ndarray, plane: str) -> None:
        plane_image = self._plane(plane)
        plane_image += image_e.astype(np.float32, copy=False)

    def total_e(self) -> np.ndarray:
        return self.sky_e * self.transmission + self.diffuse_e + self.near_e


def add_gaussians(image: np.ndarray, x_px, y_px, electrons, sigma_px: float) -> None:
    """Deposit circular Gaussian spots into `image` (in place), integrated over each pixel.

    Pixel (x, y) covers x-0.5..x+0.5, so a spot at (3.0, 4.0) is centred on pixel (3, 4).
    """
    x = np.atleast_1d(np.asarray(x_px, float))
    y = np.atleast_1d(np.asarray(y_px, float))
    flux = np.broadcast_to(np.asarray(electrons, float), x.shape)
    height, width = image.shape
    half = int(np.ceil(4.0 * sigma_px)) + 1
    keep = (
        np.isfinite(x)
        & np.isfinite(y)
        & (flux > 0)
        & (x > -half)
        & (x < width + half)
        & (y > -half)
        & (y < height + half)
    )
    if not keep.any():
        return
    x, y, flux = x[keep], y[keep], flux[keep]
    offsets = np.arange(-half, half + 1)
    x0 = np.round(x).astype(np.int64)
    y0 = np.round(y).astype(np.int64)
    px = x0[:, None] + offsets  # (n, k)
    py = y0[:, None] + offsets
    wx = _pixel_integrated_gaussian(px - x[:, None], sigma_px)
    wy = _pixel_integrated_gaussian(py - y[:, None], sigma_px)
    weights = (wy[:, :, None] * wx[:, None, :]) * flux[:, None, None]
    rows = np.broadcast_to(py[:, :, None], weights.shape)
    cols = np.broadcast_to(px[:, None, :], weights.shape)
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    flat = rows[inside] * width + cols[inside]
    np.add.at(image.reshape(-1), flat, weights[inside].astype(image.dtype))


def _pixel_integrated_gaussian(d: np.ndarray, sigma: float) -> np.ndarray:
    """Fraction of a 1-D unit Gaussian falling in the pixel whose centre is `d` from the mean."""
    s = sigma * np.sqrt(2.0)
    return 0.5 * (erf((d + 0.5) / s) - erf((d - 0.5) / s))


class Layer(Protocol):
    """Something in the scene. `prepare` is called once per camera with all true mid-exposure
    times (POSIX seconds, UTC) so geometry can be vectorised; `draw` adds frame k's light to
    the canvas and returns what the truth file should say about frame k (None if unseen)."""

    name: str

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None: ...

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> dict | list | None: ...


def read_out(camera: SimCamera, canvas: Canvas, rng: np.random.Generator) -> np.ndarray:
    """The sensor: shot noise, read noise, gain, bias, hot pixels, 8-bit quantisation and clipping.

    Shot noise is exact (Poisson) for the sparse sources (stars, meteor, satellites, insects);
    for the smooth background (sky, moonlit cloud) Poisson noise and read noise are drawn
    together as one Gaussian of the same variance, which is indistinguishable at these
    levels and four times cheaper on a 2-megapixel frame.
    """
    p = camera.profile
    sources = canvas.sky_e * canvas.transmission + canvas.near_e
    sources = np.broadcast_to(np.asarray(sources, np.float32), canvas.shape)
    background = np.broadcast_to(np.asarray(canvas.diffuse_e, np.float32), canvas.shape)
    sigma = np.sqrt(background + np.float32(p.read_noise_e**2))
    signal = rng.standard_normal(canvas.shape, dtype=np.float32) * sigma + background
    lit = np.flatnonzero(sources > 1e-3)
    signal.reshape(-1)[lit] += rng.poisson(sources.reshape(-1)[lit]).astype(np.float32)
    adu = signal / np.float32(p.gain_e_per_adu) + np.float32(p.bias_adu)
    if camera.hot_pixels is not None:
        hx, hy, extra = camera.hot_pixels
        adu[hy, hx] += extra
    return np.clip(np.rint(adu), 0, 2**p.bit_depth - 1).astype(np.uint8)
