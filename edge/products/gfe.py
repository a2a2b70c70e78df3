"""Export of one camera's observation in the Global Fireball Exchange (GFE) ECSV standard.

The GFE standard (Desert Fireball Network, Global Fireball Observatory and GMN/RMS, read by
WesternMeteorPyLib and written by RMS SkyFit2) is an astropy ECSV table: one row per measured
frame, with per-point columns and observation-wide keywords in the table's `meta`. What we write:

columns: datetime (ISO 8601 UTC, microseconds, no zone letter, as the standard's examples),
    ra, dec (deg, ICRS/J2000), azimuth, altitude (deg; apparent, refraction included when the
    report says so), x_image, y_image (pixels, our convention: the top-left pixel's centre is (0, 0)),
    integrated_pixel_value (background-subtracted ADU, rounded), saturated_pixels (bool),
    mag_data (V, extinction-corrected), err_minus_mag, err_plus_mag.
meta: obs_latitude, obs_longitude (deg), obs_elevation (m), origin, camera_id, cx, cy (the
    frame's width and height in pixels, as RMS writes them), photometric_band, image_file,
    isodate_start_obs, isodate_calib, astrometry_number_stars, mag_label, no_frags, obs_az,
    obs_ev, obs_rot, fov_horiz, fov_vert, plus skytrail's own observation_id, station_id.

Unsure points (no copy of the standard's text was at hand; this follows the files RMS and
WMPL write and read): obs_elevation is "above MSL" in the standard and we write the height above
the WGS84 ellipsoid (the geoid differs by tens of metres); the sign convention of obs_rot
(we write the camera model's roll, positive clockwise seen from behind the camera); whether
x_image/y_image are 0- or 1-based (we write 0-based centres).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table

from edge.astrometry.camera_model import CameraModel
from edge.protocol import ObservationReport

ORIGIN = "skytrail"
COLUMNS = (
    "datetime",
    "ra",
    "dec",
    "azimuth",
    "altitude",
    "x_image",
    "y_image",
    "integrated_pixel_value",
    "saturated_pixels",
    "mag_data",
    "err_minus_mag",
    "err_plus_mag",
)


def _nan(v) -> float:
    return float("nan") if v is None else float(v)


def gfe_table(report: ObservationReport, *, image_file: str = "", model: CameraModel | None = None) -> Table:
    """The GFE table of a report (frames with sky positions only; missing values are NaN)."""
    rows = [f for f in report.frames if f.ra_deg is not None]
    fmt = "%Y-%m-%dT%H:%M:%S.%f"
    t = Table()
    t["datetime"] = [f.utc.strftime(fmt) for f in rows]
    t["ra"] = np.array([f.ra_deg for f in rows], float)
    t["dec"] = np.array([f.dec_deg for f in rows], float)
    t["azimuth"] = np.array([_nan(f.az_deg) for f in rows])
    t["altitude"] = np.array([_nan(f.alt_deg) for f in rows])
    t["x_image"] = np.array([_nan(f.x_px) for f in rows])
    t["y_image"] = np.array([_nan(f.y_px) for f in rows])
    flux = np.array([_nan(f.flux_adu) for f in rows])
    t["integrated_pixel_value"] = np.where(np.isfinite(flux), np.rint(flux), -1).astype(np.int64)
    t["saturated_pixels"] = np.array([bool(f.saturated) for f in rows], bool)
    t["mag_data"] = np.array([_nan(f.mag) for f in rows])
    sig = np.array([_nan(f.mag_sigma) for f in rows])
    t["err_minus_mag"] = sig
    t["err_plus_mag"] = sig
    for name, unit in (
        ("ra", "deg"),
        ("dec", "deg"),
        ("azimuth", "deg"),
        ("altitude", "deg"),
        ("x_image", "pix"),
        ("y_image", "pix"),
        ("mag_data", "mag"),
    ):
        t[name].unit = unit
    cm = report.camera_model
    if model is None and cm is not None:
        model = CameraModel.from_dict(cm.camera_dict())
    az, ev, rot = model.pointing if model is not None else (float("nan"),) * 3
    fov_h, fov_v = model.field_of_view_deg if model is not None else (float("nan"),) * 2
    loc = report.location
    t.meta.update(
        {
            "obs_latitude": loc.lat_deg,
            "obs_longitude": loc.lon_deg,
            "obs_elevation": loc.height_m,
            "origin": ORIGIN,
            "camera_id": f"{report.station_id}-{report.camera_id}",
            "cx": int(model.width_px) if model is not None else -1,
            "cy": int(model.height_px) if model is not None else -1,
            "photometric_band": "V",
            "image_file": image_file,
            "isodate_start_obs": report.frames[0].utc.strftime(fmt),
            "isodate_calib": cm.calibrated_at.strftime(fmt) if cm is not None and cm.calibrated_at else "",
            "astrometry_number_stars": int(cm.n_stars) if cm is not None and cm.n_stars is not None else 0,
            "mag_label": "mag_data",
            "no_frags": 1,
            "obs_az": float(az),
            "obs_ev": float(ev),
            "obs_rot": float(rot),
            "fov_horiz": float(fov_h),
            "fov_vert": float(fov_v),
            "observation_id": report.observation_id,
            "station_id": report.station_id,
        }
    )
    return t


def write_gfe(path: str | Path, table: Table) -> Path:
    """Write the table as ECSV (atomically)."""
    path = Path(path)
    missing = [c for c in COLUMNS if c not in table.colnames]
    if missing:
        raise ValueError(f"GFE table: missing column(s) {', '.join(missing)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    table.write(tmp, format="ascii.ecsv", overwrite=True)
    tmp.replace(path)
    return path


def read_gfe(path: str | Path) -> Table:
    """Read a GFE ECSV file; ValueError if it is not ECSV or lacks the standard's position columns."""
    path = Path(path)
    try:
        table = Table.read(path, format="ascii.ecsv")
    except FileNotFoundError:
        raise
    except Exception as exc:  # astropy raises many kinds for a malformed file
        raise ValueError(f"{path}: not a readable ECSV file ({type(exc).__name__}: {exc})") from exc
    needed = ("datetime", "ra", "dec", "azimuth", "altitude")
    missing = [c for c in needed if c not in table.colnames]
    if missing:
        raise ValueError(f"{path}: not a GFE table, missing column(s) {', '.join(missing)}")
    return table
