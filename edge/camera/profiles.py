"""Camera hardware profiles: sensor, lens and noise figures shared by the simulator, the
station config and the planner, all read from `profiles.toml` beside this file. A profile
named in `skytrail.toml` means the same camera everywhere.

Photometric scale: a V = 0 star gives `v0_electrons_per_s` photo-electrons per second through
the lens (whole PSF). It follows from the V-band photon flux of Vega (about 1,000 photons
s^-1 cm^-2 A^-1 over about 900 A, so ~9e5 photons s^-1 cm^-2), the entrance pupil
(focal length / f-number) and a mean quantum efficiency; a mono IMX sensor sees a wider band
than V, which the `band_factor` carries.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

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


PROFILES_TOML = Path(__file__).with_name("profiles.toml")


def load_profiles(path: str | Path = PROFILES_TOML) -> dict[str, CameraProfile]:
    """Profiles from a TOML file of `[name]` tables in CameraProfile's fields; errors name the entry."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    profiles = {}
    for name, fields in data.items():
        if not isinstance(fields, dict):
            raise ValueError(f"{path}: [{name}] is not a table")
        try:
            profiles[name] = CameraProfile(name=name, **fields)
        except TypeError as exc:
            raise ValueError(f"{path}: [{name}]: {exc}") from None
    return profiles


PROFILES: dict[str, CameraProfile] = load_profiles()
M3_8MM = PROFILES["m3-8mm"]
GMN_IMX291_4MM = PROFILES["gmn-imx291-4mm"]


def get_profile(name: str) -> CameraProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown camera profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None


def known_profile(name: str) -> str:
    """`name` if it is a known profile; for use as a validator of configuration fields."""
    get_profile(name)
    return name


# a configuration field naming a camera profile; unknown names are rejected with the known ones
ProfileName = Annotated[str, AfterValidator(known_profile)]
