"""Stations and cameras as the planner sees them: a place, a minimum elevation, and cameras with a
hardware profile and a pointing.

Inputs come from the same station description the simulator uses (`edge.sim.config.StationConfig`:
`station_id`, `lat_deg`, `lon_deg`, `height_m`, cameras with `profile`, `az_deg`, `alt_deg`,
`roll_deg`, optional `focal_length_mm`), read from a TOML or JSON file with a `stations` list, so a
profile named in `skytrail.toml` or a scenario means the same lens and sensor here
(`edge.camera.profiles`). The camera geometry is `CameraModel.from_pointing` with the profile's
distortion.

An *ideal* station (`cameras=()`) sees the whole sky above its minimum elevation: the M3 paper
describes its four-camera stations that way, and it is the upper bound of what any head can do.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from edge.astrometry.camera_model import CameraModel
from edge.camera.profiles import CameraProfile, get_profile
from edge.geometry.earth import Site

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius, for the map grid and bearings
DEFAULT_MIN_ALT_DEG = 20.0  # below this, range, extinction and obstacles make cameras useless


@dataclass(frozen=True)
class PlanCamera:
    """One camera: hardware profile and pointing (azimuth from north through east, elevation, roll)."""

    camera_id: str
    profile: CameraProfile
    az_deg: float
    alt_deg: float
    roll_deg: float = 0.0
    focal_length_mm: float | None = None  # overrides the profile's lens

    def __post_init__(self) -> None:
        if not (math.isfinite(self.az_deg) and math.isfinite(self.alt_deg) and math.isfinite(self.roll_deg)):
            raise ValueError(f"camera {self.camera_id!r}: pointing angles must be finite")
        if not 0.0 <= self.alt_deg <= 90.0:
            raise ValueError(f"camera {self.camera_id!r}: alt_deg {self.alt_deg} is outside 0..90")
        object.__setattr__(self, "az_deg", float(self.az_deg) % 360.0)

    def model(self) -> CameraModel:
        """The camera model (nominal: optical centre in the middle, the profile's distortion)."""
        p = self.profile
        return CameraModel.from_pointing(
            width_px=p.width_px,
            height_px=p.height_px,
            pixel_pitch_um=p.pixel_pitch_um,
            focal_length_mm=self.focal_length_mm or p.focal_length_mm,
            az_deg=self.az_deg,
            alt_deg=self.alt_deg,
            roll_deg=self.roll_deg,
            k1=p.k1,
            k2=p.k2,
        )

    def pointed(self, az_deg: float, alt_deg: float) -> PlanCamera:
        """A copy pointing elsewhere."""
        return replace(self, az_deg=az_deg, alt_deg=alt_deg)


@dataclass(frozen=True)
class PlanStation:
    """A station: WGS84 place, cameras, and the elevation below which it counts nothing."""

    station_id: str
    lat_deg: float
    lon_deg: float
    height_m: float
    cameras: tuple[PlanCamera, ...] = field(default=())
    min_alt_deg: float = DEFAULT_MIN_ALT_DEG

    def __post_init__(self) -> None:
        Site(self.lat_deg, self.lon_deg, self.height_m)  # validates the place
        if not 0.0 <= self.min_alt_deg < 90.0:
            raise ValueError(f"station {self.station_id!r}: min_alt_deg {self.min_alt_deg} is outside 0..90")
        object.__setattr__(self, "cameras", tuple(self.cameras))
        ids = [c.camera_id for c in self.cameras]
        if len(set(ids)) != len(ids):
            raise ValueError(f"station {self.station_id!r}: camera ids must be unique, got {ids}")

    @property
    def site(self) -> Site:
        return Site(self.lat_deg, self.lon_deg, self.height_m)

    @property
    def ideal(self) -> bool:
        """True when the station has no cameras listed: it sees all the sky above min_alt_deg."""
        return not self.cameras

    def with_cameras(self, cameras: Sequence[PlanCamera]) -> PlanStation:
        return replace(self, cameras=tuple(cameras))


def offset_place(
    lat_deg: float, lon_deg: float, bearing_deg: float, distance_km: float
) -> tuple[float, float]:
    """(lat_deg, lon_deg) reached from a place along a great circle (spherical Earth, mean radius)."""
    lat1, lon1 = math.radians(lat_deg), math.radians(lon_deg)
    b, d = math.radians(bearing_deg), distance_km / EARTH_RADIUS_KM
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(b))
    lon2 = lon1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * math.sin(lat2)
    )
    return math.degrees(lat2), (math.degrees(lon2) + 180.0) % 360.0 - 180.0


def distance_km(a: PlanStation, b: PlanStation) -> float:
    """Great-circle distance between two stations (spherical Earth), km."""
    la, lb = math.radians(a.lat_deg), math.radians(b.lat_deg)
    dlon = math.radians(b.lon_deg - a.lon_deg)
    c = math.sin(la) * math.sin(lb) + math.cos(la) * math.cos(lb) * math.cos(dlon)
    return EARTH_RADIUS_KM * math.acos(min(1.0, max(-1.0, c)))


def head_cameras(
    profile: CameraProfile | str,
    n_cameras: int = 4,
    *,
    first_az_deg: float = 0.0,
    alt_deg: float = 45.0,
    roll_deg: float = 0.0,
) -> tuple[PlanCamera, ...]:
    """The reference head: `n_cameras` at one elevation, evenly spaced in azimuth from `first_az_deg`."""
    if not 1 <= n_cameras <= 8:
        raise ValueError(f"n_cameras: {n_cameras} is outside 1..8")
    prof = get_profile(profile) if isinstance(profile, str) else profile
    step = 360.0 / n_cameras
    return tuple(
        PlanCamera(f"cam{j + 1}", prof, (first_az_deg + step * j) % 360.0, alt_deg, roll_deg)
        for j in range(n_cameras)
    )


def from_station_config(config, *, min_alt_deg: float = DEFAULT_MIN_ALT_DEG) -> PlanStation:
    """A planner station from a simulator/station `StationConfig` (same field names and profiles)."""
    cams = tuple(
        PlanCamera(
            c.camera_id,
            get_profile(c.profile),
            c.az_deg,
            c.alt_deg,
            c.roll_deg,
            c.focal_length_mm,
        )
        for c in config.cameras
    )
    return PlanStation(config.station_id, config.lat_deg, config.lon_deg, config.height_m, cams, min_alt_deg)


def load_stations(path: Path, *, min_alt_deg: float = DEFAULT_MIN_ALT_DEG) -> list[PlanStation]:
    """Stations from a TOML or JSON file holding a `stations` list in the simulator's station format
    (a whole scenario file works). Raises ValueError naming the problem."""
    from pydantic import ValidationError

    from edge.sim.config import StationConfig

    text = Path(path).read_text()
    try:
        data = tomllib.loads(text) if Path(path).suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{path}: not valid {'TOML' if str(path).endswith('.toml') else 'JSON'}: {exc}"
        ) from None
    raw = data.get("stations") if isinstance(data, dict) else None
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{path}: expected a non-empty 'stations' list")
    stations = []
    for i, item in enumerate(raw):
        try:
            config = StationConfig.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"{path}: stations[{i}]: {problems}") from None
        stations.append(from_station_config(config, min_alt_deg=min_alt_deg))
    ids = [s.station_id for s in stations]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: station ids must be unique, got {ids}")
    return stations


def stations_to_dict(stations: Sequence[PlanStation]) -> dict:
    """JSON/TOML-ready description in the simulator's station format (ideal stations omit cameras)."""
    out = []
    for s in stations:
        out.append(
            {
                "station_id": s.station_id,
                "lat_deg": round(s.lat_deg, 6),
                "lon_deg": round(s.lon_deg, 6),
                "height_m": round(s.height_m, 1),
                "cameras": [
                    {
                        "camera_id": c.camera_id,
                        "profile": c.profile.name,
                        "az_deg": round(c.az_deg, 2),
                        "alt_deg": round(c.alt_deg, 2),
                        "roll_deg": round(c.roll_deg, 2),
                    }
                    for c in s.cameras
                ],
            }
        )
    return {"stations": out}


# --------------------------------------------------------------------------- the M3 pathfinder network
# The M3 paper II (Li et al. 2024, arXiv 2410.08103) places its first four stations around Beijing
# "100 to 200 km apart in a diamond" without exact coordinates. Our assumption: a diamond (rhombus)
# centred on the simulator's network centre (40.45 N, 116.6 E), with diagonals of 260 km east-west
# and 170 km north-south, so the sides are 155 km and the shorter diagonal 170 km: every distance
# lies in the paper's 100-200 km range except the long diagonal (260 km, opposite corners).
M3_CENTRE = (40.45, 116.6, 100.0)
M3_DIAGONALS_KM = (260.0, 170.0)  # east-west, north-south


def m3_beijing_network(
    *,
    diagonals_km: tuple[float, float] = M3_DIAGONALS_KM,
    profile: CameraProfile | str | None = None,
    camera_alt_deg: float = 45.0,
    min_alt_deg: float = DEFAULT_MIN_ALT_DEG,
) -> list[PlanStation]:
    """Four stations in a diamond around the M3 network's centre.

    profile None: ideal stations that see the sky above `min_alt_deg` (what the paper says its
    four 8 mm cameras do); otherwise four cameras of that profile at `camera_alt_deg` elevation
    facing N, E, S, W.
    """
    lat0, lon0, h0 = M3_CENTRE
    ew, ns = diagonals_km
    corners = (
        ("m3-n", 0.0, ns / 2),
        ("m3-e", 90.0, ew / 2),
        ("m3-s", 180.0, ns / 2),
        ("m3-w", 270.0, ew / 2),
    )
    cams = () if profile is None else head_cameras(profile, 4, alt_deg=camera_alt_deg)
    out = []
    for i, (sid, bearing, dist) in enumerate(corners):
        lat, lon = offset_place(lat0, lon0, bearing, dist)
        out.append(PlanStation(sid, lat, lon, h0 + 50.0 * i, cams, min_alt_deg))
    return out
