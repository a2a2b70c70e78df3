"""Places on the Earth: WGS84 geodetic <-> ECEF <-> local east-north-up (ENU) and alt/az.

Angles in degrees, distances in metres. Everything is vectorised over numpy arrays; the
geodetic conversions are ERFA's (the same code astropy's EarthLocation uses).
Azimuth is measured from north through east.
"""

from __future__ import annotations

from dataclasses import dataclass

import erfa
import numpy as np

WGS84 = 1  # ERFA's code for the WGS84 ellipsoid


def geodetic_to_ecef(lat_deg, lon_deg, height_m) -> np.ndarray:
    """ECEF position(s) in metres, shape (..., 3), of WGS84 geodetic coordinates."""
    lat, lon, h = np.broadcast_arrays(
        np.radians(lat_deg, dtype=float), np.radians(lon_deg, dtype=float), np.asarray(height_m, float)
    )
    return erfa.gd2gc(WGS84, lon, lat, h)


def ecef_to_geodetic(xyz_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS84 (lat_deg, lon_deg, height_m) of ECEF position(s) in metres, shape (..., 3)."""
    lon, lat, h = erfa.gc2gd(WGS84, np.asarray(xyz_m, float))
    return np.degrees(lat), np.degrees(lon), h


def enu_basis(lat_deg, lon_deg) -> np.ndarray:
    """Rows are the east, north and up unit vectors in ECEF, shape (..., 3, 3)."""
    lat = np.radians(np.asarray(lat_deg, float))
    lon = np.radians(np.asarray(lon_deg, float))
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    zero = np.zeros_like(sl * so)
    east = np.stack([-so + zero, co + zero, zero], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl + zero], axis=-1)
    up = np.stack([cl * co, cl * so, sl + zero], axis=-1)
    return np.stack([east, north, up], axis=-2)


def altaz_to_enu(alt_deg, az_deg) -> np.ndarray:
    """Unit vector(s) in the local ENU frame, shape (..., 3), of an altitude and azimuth."""
    alt = np.radians(np.asarray(alt_deg, float))
    az = np.radians(np.asarray(az_deg, float))
    return np.stack([np.cos(alt) * np.sin(az), np.cos(alt) * np.cos(az), np.sin(alt)], axis=-1)


def enu_to_altaz(enu) -> tuple[np.ndarray, np.ndarray]:
    """(alt_deg, az_deg) of ENU vector(s), shape (..., 3); they need not be unit vectors."""
    v = np.asarray(enu, float)
    e, n, u = v[..., 0], v[..., 1], v[..., 2]
    alt = np.degrees(np.arctan2(u, np.hypot(e, n)))
    az = np.degrees(np.arctan2(e, n)) % 360.0
    return alt, az


@dataclass(frozen=True)
class Site:
    """A fixed place on the WGS84 ellipsoid (a station, a camera)."""

    lat_deg: float
    lon_deg: float
    height_m: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat_deg <= 90.0:
            raise ValueError(f"lat_deg: {self.lat_deg} is outside -90..90")
        if not -180.0 <= self.lon_deg <= 360.0:
            raise ValueError(f"lon_deg: {self.lon_deg} is outside -180..360")
        if not -500.0 <= self.height_m <= 9000.0:
            raise ValueError(f"height_m: {self.height_m} m is not a height a station can have (-500..9000)")

    @property
    def ecef_m(self) -> np.ndarray:
        return geodetic_to_ecef(self.lat_deg, self.lon_deg, self.height_m)

    @property
    def enu_basis(self) -> np.ndarray:
        return enu_basis(self.lat_deg, self.lon_deg)

    def ecef_to_enu(self, xyz_m) -> np.ndarray:
        """ENU offset(s) in metres from this site of ECEF point(s)."""
        return (np.asarray(xyz_m, float) - self.ecef_m) @ self.enu_basis.T

    def enu_to_ecef(self, enu_m) -> np.ndarray:
        """ECEF point(s) of ENU offset(s) in metres from this site."""
        return np.asarray(enu_m, float) @ self.enu_basis + self.ecef_m

    def altaz_of(self, xyz_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(alt_deg, az_deg, range_m) of ECEF point(s) seen from this site, geometric (no refraction)."""
        enu = self.ecef_to_enu(xyz_m)
        alt, az = enu_to_altaz(enu)
        return alt, az, np.linalg.norm(enu, axis=-1)
