"""The simulator's scenario: stations, cameras, the meteor and the distractors, validated.

Every field has a default that gives a sensible event, so `Scenario()` alone is a valid
three-station Perseid night near the M3 network (Beijing). Errors name the field: pydantic
reports the location (e.g. `stations.1.height_m`) and the problem.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, field_validator, model_validator

from edge.camera.profiles import ProfileName
from edge.sim.distractors import DistractorsConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CameraConfig(_Strict):
    """One camera of a station: hardware profile, nominal pointing, and overrides."""

    camera_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,15}$")
    profile: ProfileName = "m3-8mm"
    az_deg: float = Field(ge=0.0, lt=360.0)
    alt_deg: float = Field(ge=0.0, le=90.0)
    roll_deg: float = Field(0.0, ge=-180.0, le=180.0)
    focal_length_mm: PositiveFloat | None = Field(None, description="overrides the profile's lens")
    binning: int = Field(
        1, ge=1, le=8, description="sensor binning: 2 gives a quarter of the pixels, same field"
    )
    # how far the real mounting and lens are from the nominal values (ground truth differs by these)
    pointing_error_deg: float = Field(0.5, ge=0.0, le=10.0)
    focal_error_fraction: float = Field(0.01, ge=0.0, le=0.2)


class StationConfig(_Strict):
    station_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,31}$")
    lat_deg: float = Field(ge=-90.0, le=90.0)
    lon_deg: float = Field(ge=-180.0, le=360.0)
    height_m: float = Field(
        ge=-450.0, le=9000.0, description="above the WGS84 ellipsoid; -450 m is the lowest dry land"
    )
    cameras: list[CameraConfig] = Field(min_length=1, max_length=4)
    clock_offset_s: float = Field(0.0, ge=-10.0, le=10.0, description="station clock minus true UTC")
    frame_jitter_s: float = Field(0.0005, ge=0.0, le=0.05, description="RMS random error of frame timestamps")

    @model_validator(mode="after")
    def _unique_cameras(self) -> StationConfig:
        ids = [c.camera_id for c in self.cameras]
        if len(set(ids)) != len(ids):
            raise ValueError(f"camera ids must be unique within a station, got {ids}")
        return self


class MeteorConfig(_Strict):
    """The meteoroid: a shower (by IAU code) or an explicit geocentric radiant and speed."""

    shower: str | None = Field("PER", description="IAU shower code; None or 'SPO' for a sporadic")
    ra_g_deg: float | None = Field(None, ge=0.0, lt=360.0, description="geocentric radiant (sporadic only)")
    dec_g_deg: float | None = Field(None, ge=-90.0, le=90.0)
    v_g_kms: float | None = Field(None, ge=1.0, le=72.5, description="geocentric speed (sporadic only)")
    peak_abs_mag: float = Field(
        -1.0, ge=-12.0, le=6.0, description="absolute magnitude (at 100 km) at the peak"
    )
    begin_height_km: float | None = Field(None, ge=60.0, le=160.0, description="default: from the speed")
    end_height_km: float | None = Field(
        None, ge=20.0, le=140.0, description="default: from speed and brightness"
    )
    deceleration_fraction: float = Field(
        0.05, ge=0.0, le=0.8, description="speed lost by the end of the track"
    )
    flares: int = Field(1, ge=0, le=5)
    offset_km: float = Field(
        30.0, ge=0.0, le=300.0, description="random horizontal offset from the network centre"
    )

    @field_validator("shower")
    @classmethod
    def _known_shower(cls, code: str | None) -> str | None:
        if code is None or code.upper() == "SPO":
            return None
        from edge.catalogue.showers import get_shower

        get_shower(code.upper())  # raises "unknown shower code ..."
        return code.upper()

    @model_validator(mode="after")
    def _heights_in_order(self) -> MeteorConfig:
        if self.begin_height_km is not None and self.end_height_km is not None:
            if self.end_height_km >= self.begin_height_km:
                raise ValueError(
                    f"end_height_km ({self.end_height_km}) must be below "
                    f"begin_height_km ({self.begin_height_km})"
                )
        return self


class SkyConfig(_Strict):
    sky_mag_arcsec2: float = Field(20.5, ge=14.0, le=23.0, description="zenith sky brightness, V")
    extinction_mag_per_airmass: float = Field(0.25, ge=0.0, le=2.0)
    scintillation_zenith: float = Field(
        0.05, ge=0.0, le=1.0, description="RMS relative flux twinkle at the zenith"
    )
    star_limit_vmag: float = Field(7.5, ge=0.0, le=7.5)
    pressure_hpa: float = Field(1000.0, ge=0.0, le=1100.0, description="0 switches refraction off")
    temperature_c: float = Field(10.0, ge=-60.0, le=50.0)


class Scenario(_Strict):
    """A whole simulated event. `utc` None: the shower's peak night, with the radiant high."""

    seed: int = 1
    utc: str | None = Field(None, description="ISO time of the meteor's begin; None picks a good night time")
    year: int = Field(2026, ge=1900, le=2100)
    margin_s: float = Field(0.5, ge=0.0, le=30.0, description="frames recorded before and after the meteor")
    stations: list[StationConfig] = Field(default_factory=lambda: default_network(3, 4), min_length=1)
    meteor: MeteorConfig = Field(default_factory=MeteorConfig)
    sky: SkyConfig = Field(default_factory=SkyConfig)
    distractors: DistractorsConfig = Field(default_factory=DistractorsConfig)
    frame_format: Literal["npz"] = "npz"

    @model_validator(mode="after")
    def _unique_stations(self) -> Scenario:
        ids = [s.station_id for s in self.stations]
        if len(set(ids)) != len(ids):
            raise ValueError(f"station ids must be unique, got {ids}")
        return self


# M3's network is a diamond of stations 100 to 200 km apart north of Beijing.
NETWORK_CENTRE = (40.45, 116.6, 100.0)
STATION_SPACING_KM = 110.0


def default_network(
    n_stations: int,
    n_cameras: int,
    *,
    centre: tuple[float, float, float] = NETWORK_CENTRE,
    spacing_km: float = STATION_SPACING_KM,
    profile: str = "m3-8mm",
    binning: int = 1,
) -> list[StationConfig]:
    """Stations on a circle around `centre`, each with cameras tiling the sky like the M3 stations
    (four at 45 deg elevation, 90 deg apart; fewer cameras keep the first azimuths)."""
    import math

    if not 1 <= n_stations <= 8:
        raise ValueError(f"stations: {n_stations} is outside 1..8")
    if not 1 <= n_cameras <= 4:
        raise ValueError(f"cameras: {n_cameras} is outside 1..4")
    lat0, lon0, h0 = centre
    # radius so that neighbouring stations are `spacing_km` apart (one station: at the centre)
    radius_km = 0.0 if n_stations == 1 else spacing_km / (2 * math.sin(math.pi / n_stations))
    stations = []
    for i in range(n_stations):
        bearing = 2 * math.pi * i / n_stations
        dn, de = radius_km * math.cos(bearing), radius_km * math.sin(bearing)
        lat = lat0 + math.degrees(dn / 6371.0)
        lon = lon0 + math.degrees(de / (6371.0 * math.cos(math.radians(lat0))))
        # each station turns its head so that its cameras face the network's centre
        face = (math.degrees(bearing) + 180.0) % 360.0 if n_stations > 1 else 0.0
        cameras = [
            CameraConfig(
                camera_id=f"cam{j + 1}",
                profile=profile,
                az_deg=(face + 90.0 * j) % 360.0,
                alt_deg=45.0,
                binning=binning,
            )
            for j in range(n_cameras)
        ]
        stations.append(
            StationConfig(
                station_id=f"st{i + 1}", lat_deg=lat, lon_deg=lon, height_m=h0 + 37.0 * i, cameras=cameras
            )
        )
    return stations
