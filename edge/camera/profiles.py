"""Camera hardware profiles: sensor, lens and noise figures shared by the simulator, the
station config and the planner. A profile named in `skytrail.toml` means the same everywhere.

Photometric scale: a V = 0 star gives `v0_electrons_per_s` photo-electrons per second through
the lens (whole PSF). It follows from the V-band photon flux of Vega (about 1,000 photons
s^-1 cm^-2 A^-1 over about 900 A, so ~9e5 photons s^-1 cm^-2), the entrance pupil
(focal length / f-number) and a mean quantum efficiency; a mono IMX sensor sees a wider band
than V, which the `band_factor` carries.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

VEGA_V_PHOTONS_PER_S_CM2 = 9.0e5


@dataclass(frozen=True)
class CameraProfile:
    name: str
    width_px: int
    height_px: int
    pixel_pitch_um: float
    focal_length_mm: float
    f_number: float
    k1: float  # Brown-Conrady radial coefficients of the lens, on normalised coordinates
    k2: float
    gain_e_per_adu: float
    read_noise_e: float
    bias_adu: float  # pedestal, so that noise is not clipped at zero
    bit_depth: int
    fps: float
    exposure_s: float
    psf_fwhm_px: float
    quantum_efficiency: float
    band_factor: float  # sensor band / V band photon ratio for a typical star

    def __post_init__(self) -> None:
        for name in (
            "width_px",
            "height_px",
            "pixel_pitch_um",
            "focal_length_mm",
            "f_number",
            "gain_e_per_adu",
            "fps",
            "exposure_s",
            "psf_fwhm_px",
            "quantum_efficiency",
        ):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(
                    f"camera profile {self.name!r}: {name} must be a positive number, got {value!r}"
                )
        if self.read_noise_e < 0:
            raise ValueError(f"camera profile {self.name!r}: read_noise_e must be >= 0")
        if self.bit_depth != 8:
            raise ValueError(
                f"camera profile {self.name!r}: only 8-bit output is supported, got {self.bit_depth}"
            )
        if self.exposure_s > 1.0 / self.fps + 1e-9:
            raise ValueError(
                f"camera profile {self.name!r}: exposure_s {self.exposure_s} is longer than a frame"
            )

    @property
    def focal_px(self) -> float:
        return self.focal_length_mm * 1000.0 / self.pixel_pitch_um

    @property
    def pixel_scale_arcsec(self) -> float:
        return math.degrees(self.pixel_pitch_um / (self.focal_length_mm * 1000.0)) * 3600.0

    @property
    def v0_electrons_per_s(self) -> float:
        aperture_cm = self.focal_length_mm / self.f_number / 10.0
        area_cm2 = math.pi * (aperture_cm / 2.0) ** 2
        return VEGA_V_PHOTONS_PER_S_CM2 * area_cm2 * self.quantum_efficiency * self.band_factor

    def electrons(self, vmag, duration_s: float):
        """Photo-electrons collected from a source of V magnitude `vmag` over `duration_s`."""
        return self.v0_electrons_per_s * duration_s * 10.0 ** (-0.4 * vmag)

    def to_dict(self) -> dict:
        return asdict(self)


# The M3 network's 8 mm camera (Li et al.): 8-bit, gain 2.2 e-/ADU, read noise 3.8 e-, 33.3 ms
# exposures at 30 frames/s. A 1/1.2" 5.86 um sensor read out at 1920x1080 gives a 70 x 43 deg
# field with an 8 mm lens, so four cameras at 45 deg elevation cover most of the sky above ~20 deg.
M3_8MM = CameraProfile(
    name="m3-8mm",
    width_px=1920,
    height_px=1080,
    pixel_pitch_um=5.86,
    focal_length_mm=8.0,
    f_number=1.2,
    k1=-0.06,
    k2=0.004,
    gain_e_per_adu=2.2,
    read_noise_e=3.8,
    bias_adu=8.0,
    bit_depth=8,
    fps=30.0,
    exposure_s=1.0 / 30.0,
    psf_fwhm_px=1.6,
    quantum_efficiency=0.5,
    band_factor=1.2,
)

# A GMN-class camera: Sony IMX291 (1/2.8", 2.9 um, 1920x1080) behind a 4 mm f/0.95 lens, 25 frames/s.
GMN_IMX291_4MM = CameraProfile(
    name="gmn-imx291-4mm",
    width_px=1920,
    height_px=1080,
    pixel_pitch_um=2.9,
    focal_length_mm=4.0,
    f_number=0.95,
    k1=-0.12,
    k2=0.01,
    gain_e_per_adu=1.0,
    read_noise_e=2.0,
    bias_adu=8.0,
    bit_depth=8,
    fps=25.0,
    exposure_s=0.04,
    psf_fwhm_px=1.8,
    quantum_efficiency=0.8,
    band_factor=1.5,
)

PROFILES: dict[str, CameraProfile] = {p.name: p for p in (M3_8MM, GMN_IMX291_4MM)}


def get_profile(name: str) -> CameraProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown camera profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None
