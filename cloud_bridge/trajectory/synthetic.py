"""Synthetic observations of a simulator-planned meteor, without rendering frames.

For tests and `evaluate.py`: from an `edge.sim.event.EventPlan` (its meteor's exact track and each
camera's true model), sample every camera's frame times over the luminous flight, keep the frames
where the meteor is on the sensor, and give the true lines of sight with Gaussian angular noise
(per axis), clock offsets and timing jitter. Either as `LineOfSightSet`s directly or as
`ObservationReport`s (RA/Dec by the same transform the stations use, no refraction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from cloud_bridge.trajectory.geometry import tangent_basis, unit
from cloud_bridge.trajectory.observations import LineOfSightSet
from edge.geometry.celestial import altaz_to_icrs, to_time
from edge.geometry.earth import enu_to_altaz
from edge.protocol.models import (
    FrameMeasurement,
    Location,
    ObservationReport,
    TimeQuality,
    make_observation_id,
)
from edge.sim.event import EventPlan

ARCMIN = math.radians(1.0 / 60.0)


@dataclass
class SyntheticCamera:
    """One camera's synthetic measurements: true and stamped times, noisy directions, pixels."""

    station_id: str
    camera_id: str
    site: object  # edge.geometry.earth.Site
    t_true_unix: np.ndarray
    t_stamp_unix: np.ndarray
    los_ecef: np.ndarray
    x_px: np.ndarray
    y_px: np.ndarray
    frame_index: np.ndarray


def synthetic_cameras(
    plan: EventPlan,
    rng: np.random.Generator,
    *,
    noise_arcmin: float = 1.0,
    clock_offsets_s: dict[str, float] | None = None,
    jitter_s: float = 0.0,
    min_frames: int = 4,
    min_alt_deg: float = 5.0,
) -> list[SyntheticCamera]:
    """Every camera of `plan` that sees at least `min_frames` frames of the meteor.

    clock_offsets_s: station clock minus true UTC per station id (default: the plan's cameras').
    """
    m = plan.meteor
    out = []
    for cam in plan.cameras:
        fps = cam.profile.fps
        phase = rng.uniform(0.0, 1.0 / fps)
        n = int(math.ceil(m.duration_s * fps)) + 1
        idx = np.arange(n)
        t_true = m.t_begin_unix + phase + idx / fps
        keep = t_true <= m.t_begin_unix + m.duration_s
        pos = m.position_ecef(t_true)
        enu = cam.site.ecef_to_enu(pos)
        x, y = cam.model.enu_to_pixel(enu)
        alt, _az = enu_to_altaz(enu)
        keep &= cam.model.in_frame(x, y) & (alt > min_alt_deg)
        if keep.sum() < min_frames:
            continue
        t_true, pos, x, y, idx = t_true[keep], pos[keep], x[keep], y[keep], idx[keep]
        los = unit(pos - cam.site.ecef_m)
        if noise_arcmin > 0:
            e1, e2 = tangent_basis(los)
            g = rng.standard_normal((len(los), 2)) * noise_arcmin * ARCMIN
            los = unit(los + g[:, :1] * e1 + g[:, 1:] * e2)
        offset = cam.clock_offset_s if clock_offsets_s is None else clock_offsets_s.get(cam.station_id, 0.0)
        t_stamp = t_true + offset + (rng.normal(0.0, jitter_s, len(t_true)) if jitter_s > 0 else 0.0)
        out.append(SyntheticCamera(cam.station_id, cam.camera_id, cam.site, t_true, t_stamp, los, x, y, idx))
    return out


def to_line_of_sight_sets(cams: list[SyntheticCamera], t_ref_unix: float) -> list[LineOfSightSet]:
    return [
        LineOfSightSet(
            observation_id=f"{c.station_id}-{c.camera_id}-sim",
            station_id=c.station_id,
            camera_id=c.camera_id,
            site_ecef_m=c.site.ecef_m,
            t_s=c.t_stamp_unix - t_ref_unix,
            los_ecef=c.los_ecef,
            t_ref_unix=t_ref_unix,
        )
        for c in cams
    ]


def to_reports(cams: list[SyntheticCamera], *, n: int = 0) -> list[ObservationReport]:
    """ObservationReports of the synthetic cameras (RA/Dec: geometric alt/az -> ICRS, no refraction)."""
    reports = []
    for c in cams:
        alt, az = enu_to_altaz(c.los_ecef @ c.site.enu_basis.T)
        ra, dec = altaz_to_icrs(alt, az, to_time(c.t_stamp_unix), c.site, refraction=None)
        utcs = [datetime.fromtimestamp(float(t), UTC) for t in c.t_stamp_unix]
        frames = [
            FrameMeasurement(
                utc=u,
                frame_index=int(i),
                x_px=float(x),
                y_px=float(y),
                ra_deg=float(r) % 360.0,
                dec_deg=float(d),
            )
            for u, i, x, y, r, d in zip(utcs, c.frame_index, c.x_px, c.y_px, ra, dec, strict=True)
        ]
        reports.append(
            ObservationReport(
                station_id=c.station_id,
                observation_id=make_observation_id(c.station_id, c.camera_id, utcs[0], n),
                camera_id=c.camera_id,
                location=Location(
                    lat_deg=c.site.lat_deg,
                    lon_deg=((c.site.lon_deg + 180.0) % 360.0) - 180.0,
                    height_m=c.site.height_m,
                ),  # fmt: skip
                created_utc=utcs[-1],
                time_quality=TimeQuality(source="simulated", estimated_error_s=0.001, pps_locked=False),
                frames=frames,
                refraction_applied=False,
            )
        )
    return reports
