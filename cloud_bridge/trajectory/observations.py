"""Lines of sight: one camera's per-frame directions toward a meteor, Earth-fixed, ready to triangulate.

Input is an `ObservationReport` from the wire contract (edge/protocol/models.py). A meteor's RA/Dec
there is "the ICRS direction of a star that would appear at the same place at that instant"
(docs/design.md), so each frame's RA/Dec is turned back into a geometric (airless) alt/az with the
same transform the station's astrometry used (`edge.geometry.celestial.icrs_to_altaz`, no
refraction), then into an ECEF unit vector with the site's east-north-up basis. Aberration and
Earth orientation cancel in the round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.geometry.celestial import icrs_to_altaz, to_time
from edge.geometry.earth import Site, altaz_to_enu
from edge.protocol.models import ObservationReport


@dataclass
class LineOfSightSet:
    """One camera's lines of sight to one meteor.

    site_ecef_m: (3,) camera position, ECEF metres. t_s: (N,) seconds after `t_ref_unix` (POSIX
    seconds, UTC) on the station's own clock. los_ecef: (N, 3) unit vectors from the site toward the
    meteor, Earth-fixed. sigma_arcmin: the report's stated per-frame uncertainty (median), if any.
    frame_sigma_arcmin: (N,) the report's per-frame uncertainties (NaN where a frame states none),
    if any frame states one: the solver weights the frames of one camera by them relative to each
    other (a station marks a truncated or faint end frame by a larger sigma). mags: (N,) apparent
    magnitudes, if any (NaN where a frame has none). frame_index: (N,) the frames' numbers in the
    camera's stream, if known (for naming rejected frames).
    """

    observation_id: str
    station_id: str
    camera_id: str
    site_ecef_m: np.ndarray
    t_s: np.ndarray
    los_ecef: np.ndarray
    sigma_arcmin: float | None = None
    mags: np.ndarray | None = None
    t_ref_unix: float = 0.0
    frame_sigma_arcmin: np.ndarray | None = None
    frame_index: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(len(self.t_s))


def report_time_unix(report: ObservationReport) -> np.ndarray:
    """POSIX seconds (UTC, station clock) of each frame of `report`, shape (N,)."""
    return np.array([f.utc.timestamp() for f in report.frames], float)


def lines_of_sight_from_report(report: ObservationReport, t_ref_unix: float) -> LineOfSightSet:
    """The report's frames as Earth-fixed lines of sight, times in seconds after `t_ref_unix`.

    Raises ValueError naming the report and frame when a frame has no RA/Dec.
    """
    for i, f in enumerate(report.frames):
        if f.ra_deg is None or f.dec_deg is None:
            raise ValueError(
                f"report {report.observation_id}: frame {i} (frame_index {f.frame_index}) has no "
                "ra_deg/dec_deg; "
                "the trajectory needs calibrated sky positions"
            )
    loc = report.location
    site = Site(loc.lat_deg, loc.lon_deg, loc.height_m)
    t_unix = report_time_unix(report)
    ra = np.array([f.ra_deg for f in report.frames], float)
    dec = np.array([f.dec_deg for f in report.frames], float)
    alt, az = icrs_to_altaz(ra, dec, to_time(t_unix), site, refraction=None)
    los = altaz_to_enu(alt, az) @ site.enu_basis
    sigmas = [f.position_sigma_arcmin for f in report.frames if f.position_sigma_arcmin is not None]
    frame_sigma = np.array(
        [np.nan if f.position_sigma_arcmin is None else f.position_sigma_arcmin for f in report.frames], float
    )
    mags = np.array([np.nan if f.mag is None else f.mag for f in report.frames], float)
    return LineOfSightSet(
        observation_id=report.observation_id,
        station_id=report.station_id,
        camera_id=report.camera_id,
        site_ecef_m=site.ecef_m,
        t_s=t_unix - float(t_ref_unix),
        los_ecef=los / np.linalg.norm(los, axis=-1, keepdims=True),
        sigma_arcmin=float(np.median(sigmas)) if sigmas else None,
        mags=mags if np.isfinite(mags).any() else None,
        t_ref_unix=float(t_ref_unix),
        frame_sigma_arcmin=frame_sigma if np.isfinite(frame_sigma).any() else None,
        frame_index=np.array([f.frame_index for f in report.frames], int),
    )
