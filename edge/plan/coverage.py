"""Sky and meteor-layer coverage of a network: what each camera sees, where two stations see the same
place with a usable convergence angle, and how large those areas are.

Inputs: `PlanStation`s (edge.plan.network), whose cameras are `CameraModel`s built from shared
hardware profiles. Geometry: points on a shell at `height_km` (default 100 km, where meteors shine)
above the WGS84 ellipsoid, seen from each station through `Site.ecef_to_enu` and the camera model.

Areas are *ground* areas (the footprint under the layer, km2), integrated on a square grid in an
azimuthal-equidistant projection about the network centre with each cell weighted by the
projection's exact area scale on a sphere (sin(rho/R) / (rho/R)). The grid error is about one cell
width times the perimeter of the region: with 5 km cells, under 1 % for regions the size of a
station's footprint; with 10 km cells (tests), about 2 %.

Convergence angle: the angle between the two stations' lines of sight to a point, folded to 0..90 deg.
A meteor seen along nearly parallel lines of sight gives a poorly conditioned trajectory; the
default minimum, 15 deg, is the usual quality cut of video networks (GMN and CAMS keep trajectories
with a maximum convergence angle above 15 deg).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.geometry.earth import enu_to_altaz, geodetic_to_ecef
from edge.plan.network import EARTH_RADIUS_KM, PlanStation

DEFAULT_HEIGHT_KM = 100.0
DEFAULT_MIN_CONVERGENCE_DEG = 15.0


@dataclass(frozen=True)
class LayerGrid:
    """Cells on the meteor layer: an azimuthal-equidistant square grid about a centre.

    x_km (east) and y_km (north) are the projected offsets of the cell centres; `lat_deg`, `lon_deg`
    their places; `ecef_m` the points at `height_km`; `area_km2` each cell's ground area.
    """

    centre_lat_deg: float
    centre_lon_deg: float
    half_width_km: float
    cell_km: float
    height_km: float
    x_km: np.ndarray
    y_km: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    ecef_m: np.ndarray
    area_km2: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.x_km.shape

    @classmethod
    def build(
        cls,
        centre_lat_deg: float,
        centre_lon_deg: float,
        *,
        half_width_km: float,
        cell_km: float,
        height_km: float = DEFAULT_HEIGHT_KM,
    ) -> LayerGrid:
        """A grid of (2 half_width_km / cell_km)^2 cells; rows run north to south (row 0 is north)."""
        if not (cell_km > 0 and half_width_km > cell_km):
            raise ValueError(f"grid: need 0 < cell_km ({cell_km}) < half_width_km ({half_width_km})")
        if not 20.0 <= height_km <= 200.0:
            raise ValueError(f"height_km: {height_km} is outside 20..200 (meteors shine at 70-120 km)")
        n = int(math.ceil(2 * half_width_km / cell_km))
        if n > 2000:
            raise ValueError(f"grid: {n}x{n} cells is too many; use a coarser cell_km")
        edges = (np.arange(n) + 0.5) * cell_km - n * cell_km / 2.0
        x, y = np.meshgrid(edges, edges[::-1])
        rho = np.hypot(x, y) / EARTH_RADIUS_KM  # central angle
        bearing = np.arctan2(x, y)
        lat0, lon0 = math.radians(centre_lat_deg), math.radians(centre_lon_deg)
        lat = np.arcsin(np.sin(lat0) * np.cos(rho) + np.cos(lat0) * np.sin(rho) * np.cos(bearing))
        lon = lon0 + np.arctan2(
            np.sin(bearing) * np.sin(rho) * np.cos(lat0), np.cos(rho) - np.sin(lat0) * np.sin(lat)
        )
        lat_deg, lon_deg = np.degrees(lat), (np.degrees(lon) + 180.0) % 360.0 - 180.0
        scale = np.where(rho > 0, np.sin(rho) / np.where(rho > 0, rho, 1.0), 1.0)
        ecef = geodetic_to_ecef(lat_deg, lon_deg, height_km * 1000.0)
        return cls(
            centre_lat_deg, centre_lon_deg, half_width_km, cell_km, height_km,
            x, y, lat_deg, lon_deg, ecef, cell_km**2 * scale,
        )  # fmt: skip

    @classmethod
    def around(
        cls,
        stations: Sequence[PlanStation],
        *,
        cell_km: float = 5.0,
        height_km: float = DEFAULT_HEIGHT_KM,
        margin_km: float | None = None,
    ) -> LayerGrid:
        """A grid centred on the stations, wide enough for what they can see above their minimum
        elevation (the horizontal reach at `height_km`, plus a cell)."""
        if not stations:
            raise ValueError("no stations")
        lat_c = float(np.mean([s.lat_deg for s in stations]))
        lon_c = float(np.degrees(np.angle(np.mean(np.exp(1j * np.radians([s.lon_deg for s in stations]))))))
        if margin_km is None:
            margin_km = max(reach_km(s.min_alt_deg, height_km) for s in stations) + 2 * cell_km
        x, y = _project(lat_c, lon_c, [s.lat_deg for s in stations], [s.lon_deg for s in stations])
        half = float(np.max(np.abs(np.concatenate([x, y])))) + margin_km
        return cls.build(lat_c, lon_c, half_width_km=half, cell_km=cell_km, height_km=height_km)


def _project(lat0_deg: float, lon0_deg: float, lat_deg, lon_deg) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthal-equidistant (x_km east, y_km north) of places about (lat0, lon0), spherical Earth."""
    lat0, lon0 = math.radians(lat0_deg), math.radians(lon0_deg)
    lat, lon = np.radians(np.asarray(lat_deg, float)), np.radians(np.asarray(lon_deg, float))
    cosc = np.sin(lat0) * np.sin(lat) + np.cos(lat0) * np.cos(lat) * np.cos(lon - lon0)
    c = np.arccos(np.clip(cosc, -1.0, 1.0))
    bearing = np.arctan2(
        np.sin(lon - lon0) * np.cos(lat),
        np.cos(lat0) * np.sin(lat) - np.sin(lat0) * np.cos(lat) * np.cos(lon - lon0),
    )
    d = c * EARTH_RADIUS_KM
    return d * np.sin(bearing), d * np.cos(bearing)


def reach_km(min_alt_deg: float, height_km: float = DEFAULT_HEIGHT_KM) -> float:
    """Ground distance from a station to the point of the layer seen at elevation `min_alt_deg`
    (spherical Earth, mean radius), km."""
    e = math.radians(min_alt_deg)
    r = EARTH_RADIUS_KM
    return r * (math.acos(r * math.cos(e) / (r + height_km)) - e)


@dataclass(frozen=True)
class StationView:
    """What one station sees of the grid's cells.

    `seen` (bool, grid shape): above min elevation and inside a camera's frame (or, for an ideal
    station, above min elevation); `camera_seen` (n_cameras, *grid shape); `alt_deg`, `range_km`:
    geometric elevation and distance of each cell; `los` (unit ECEF line of sight, *grid shape, 3).
    """

    station: PlanStation
    seen: np.ndarray
    camera_seen: np.ndarray
    alt_deg: np.ndarray
    range_km: np.ndarray
    los: np.ndarray


class StationGeometry:
    """Per-station quantities that do not depend on the pointing (cached for the pointing search)."""

    def __init__(self, station: PlanStation, grid: LayerGrid) -> None:
        self.station = station
        site = station.site
        d = grid.ecef_m - site.ecef_m
        self.range_km = np.linalg.norm(d, axis=-1) / 1000.0
        self.los = d / (self.range_km[..., None] * 1000.0)
        self.enu = site.ecef_to_enu(grid.ecef_m)
        self.alt_deg = enu_to_altaz(self.enu)[0]
        self.above = self.alt_deg >= station.min_alt_deg
        idx = np.nonzero(self.above)
        self._idx = idx
        self._enu_above = self.enu[idx]

    def camera_mask(self, camera) -> np.ndarray:
        """Cells inside one camera's frame (and above the station's minimum elevation)."""
        model = camera.model()
        x, y = model.enu_to_pixel(self._enu_above)
        mask = np.zeros(self.alt_deg.shape, bool)
        mask[self._idx] = model.in_frame(x, y)
        return mask

    def view(self, station: PlanStation | None = None) -> StationView:
        """The view with the station's cameras (or another pointing of the same station)."""
        st = station or self.station
        if st.ideal:
            cams = np.zeros((0, *self.alt_deg.shape), bool)
            seen = self.above.copy()
        else:
            cams = np.stack([self.camera_mask(c) for c in st.cameras])
            seen = cams.any(axis=0)
        return StationView(st, seen, cams, self.alt_deg, self.range_km, self.los)


def convergence_deg(los_a: np.ndarray, los_b: np.ndarray) -> np.ndarray:
    """Angle between two lines of sight (unit vectors, (..., 3)), folded to 0..90 deg."""
    c = np.abs(np.clip(np.sum(los_a * los_b, axis=-1), -1.0, 1.0))
    return np.degrees(np.arccos(c))


@dataclass(frozen=True)
class Coverage:
    """Coverage of a network on one grid (see `network_coverage`)."""

    grid: LayerGrid
    views: tuple[StationView, ...]
    n_seen: np.ndarray  # stations seeing each cell
    triangulable: np.ndarray  # some pair sees the cell with convergence >= min_convergence_deg
    best_convergence_deg: np.ndarray  # largest pair convergence (0 where fewer than 2 stations)
    min_convergence_deg: float

    def area_km2(self, mask: np.ndarray) -> float:
        return float(np.sum(self.grid.area_km2[mask]))

    def summary(self) -> dict:
        """Areas in km2: per station, union, seen by two or more, triangulable."""
        return {
            "height_km": self.grid.height_km,
            "cell_km": self.grid.cell_km,
            "min_convergence_deg": self.min_convergence_deg,
            "station_area_km2": {v.station.station_id: round(self.area_km2(v.seen)) for v in self.views},
            "union_area_km2": round(self.area_km2(self.n_seen >= 1)),
            "two_or_more_area_km2": round(self.area_km2(self.n_seen >= 2)),
            "triangulable_area_km2": round(self.area_km2(self.triangulable)),
        }


def pair_triangulable(a: StationView, b: StationView, min_convergence_deg: float) -> np.ndarray:
    """Cells that both stations see with a convergence angle of at least `min_convergence_deg`."""
    both = a.seen & b.seen
    out = np.zeros_like(both)
    out[both] = convergence_deg(a.los[both], b.los[both]) >= min_convergence_deg
    return out


def network_coverage(
    stations: Sequence[PlanStation],
    grid: LayerGrid | None = None,
    *,
    min_convergence_deg: float = DEFAULT_MIN_CONVERGENCE_DEG,
    cell_km: float = 5.0,
    height_km: float = DEFAULT_HEIGHT_KM,
) -> Coverage:
    """Each station's footprint on the layer, the cells seen by two or more, and the triangulable ones."""
    if not 0.0 <= min_convergence_deg < 90.0:
        raise ValueError(f"min_convergence_deg: {min_convergence_deg} is outside 0..90")
    ids = [s.station_id for s in stations]
    if len(set(ids)) != len(ids):
        raise ValueError(f"station ids must be unique, got {ids}")
    grid = grid or LayerGrid.around(stations, cell_km=cell_km, height_km=height_km)
    views = tuple(StationGeometry(s, grid).view() for s in stations)
    n_seen = np.sum([v.seen for v in views], axis=0) if views else np.zeros(grid.shape, int)
    best = np.zeros(grid.shape)
    for a, b in itertools.combinations(views, 2):
        both = a.seen & b.seen
        q = np.zeros(grid.shape)
        q[both] = convergence_deg(a.los[both], b.los[both])
        best = np.maximum(best, q)
    tri = (n_seen >= 2) & (best >= min_convergence_deg)
    return Coverage(grid, views, n_seen, tri, best, min_convergence_deg)


# --------------------------------------------------------------------------- the sky seen by a camera
def _hemisphere_directions(n: int) -> np.ndarray:
    """n nearly uniform unit ENU vectors over the upper hemisphere (a Fibonacci lattice)."""
    i = np.arange(n) + 0.5
    z = 1.0 - i / n
    phi = math.pi * (1.0 + math.sqrt(5.0)) * i
    s = np.sqrt(1.0 - z * z)
    return np.stack([s * np.cos(phi), s * np.sin(phi), z], axis=-1)


def sky_fov(station: PlanStation, *, n_samples: int = 100_000) -> dict:
    """Each camera's field of view on the sky and the share of the sky above min_alt_deg the station
    covers (from `n_samples` directions; error about 1/sqrt(n_samples) relative)."""
    v = _hemisphere_directions(n_samples)
    alt = np.degrees(np.arcsin(v[:, 2]))
    cap = alt >= station.min_alt_deg
    sr_per_sample = 2.0 * math.pi / n_samples
    sq_deg = (180.0 / math.pi) ** 2
    seen_any = np.zeros(n_samples, bool) if not station.ideal else cap.copy()
    cameras = []
    for c in station.cameras:
        model = c.model()
        x, y = model.enu_to_pixel(v)
        inside = model.in_frame(x, y)
        seen_any |= inside & cap
        # corners of the frame on the sky
        w, h = model.width_px - 0.5, model.height_px - 0.5
        c_alt, c_az = model.pixel_to_altaz([-0.5, w, w, -0.5], [-0.5, -0.5, h, h])
        hfov, vfov = model.field_of_view_deg
        cameras.append(
            {
                "camera_id": c.camera_id,
                "profile": c.profile.name,
                "az_deg": round(c.az_deg, 2),
                "alt_deg": round(c.alt_deg, 2),
                "roll_deg": round(c.roll_deg, 2),
                "field_deg": [round(hfov, 2), round(vfov, 2)],
                "solid_angle_sq_deg": round(float(inside.sum() * sr_per_sample * sq_deg), 1),
                "corners_altaz_deg": [
                    [round(float(a), 2), round(float(z), 2)] for a, z in zip(c_alt, c_az, strict=True)
                ],
            }
        )
    cap_sr = float(cap.sum() * sr_per_sample)
    return {
        "station_id": station.station_id,
        "min_alt_deg": station.min_alt_deg,
        "cameras": cameras,
        "sky_above_min_alt_sq_deg": round(cap_sr * sq_deg, 1),
        "fraction_of_sky_above_min_alt_seen": round(float((seen_any & cap).sum() / max(cap.sum(), 1)), 4),
    }


def footprint_outline(
    station: PlanStation, camera, *, height_km: float = DEFAULT_HEIGHT_KM, n_edge: int = 40
):
    """(lat_deg, lon_deg) arrays tracing the camera frame's edge on the layer at `height_km`; parts of
    the edge below the station's minimum elevation are pulled up to it (the footprint's far side).
    Spherical shell through the station's geocentric radius, good to a few hundred metres for drawing."""
    from edge.geometry.earth import altaz_to_enu, ecef_to_geodetic

    model = camera.model()
    w, h = model.width_px - 0.5, model.height_px - 0.5
    t = np.linspace(0.0, 1.0, n_edge, endpoint=False)
    xs = np.concatenate([-0.5 + t * (w + 0.5), np.full(n_edge, w), w - t * (w + 0.5), np.full(n_edge, -0.5)])
    ys = np.concatenate([np.full(n_edge, -0.5), -0.5 + t * (h + 0.5), np.full(n_edge, h), h - t * (h + 0.5)])
    alt, az = model.pixel_to_altaz(xs, ys)
    alt = np.maximum(alt, station.min_alt_deg)
    site = station.site
    d_ecef = altaz_to_enu(alt, az) @ site.enu_basis
    s = site.ecef_m
    r_shell = np.linalg.norm(s) - station.height_m + height_km * 1000.0
    b = d_ecef @ s
    t_hit = -b + np.sqrt(b * b - (s @ s - r_shell**2))
    lat, lon, _ = ecef_to_geodetic(s + t_hit[:, None] * d_ecef)
    return lat, lon
