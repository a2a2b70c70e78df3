"""What the bridge pages show, read from the store (`cloud_bridge.store`) into plain values.

Inputs: stations (state, status and telemetry JSON as received), observations (the reports as
received), events, trajectories (`cloud_bridge.summary.solution_to_dict` JSON), orbits, and the
product files stations uploaded (`ProductFile`). Stored JSON is read defensively (`.get`), so an
older or partial record gives a page with gaps, not an error. Per-frame heights are recomputed
from the reports' lines of sight and the stored trajectory line, as the solver does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_bridge.api.routes.files import file_url
from cloud_bridge.store import Event, Observation, Orbit, ProductFile, Station
from cloud_bridge.web.plots import Series, StationMark, Track

log = logging.getLogger(__name__)

SILENT_AFTER = timedelta(minutes=15)
"""A station that says it is online but has sent nothing for this long is shown as silent."""


def station_state(row: Station, now: datetime) -> tuple[str, str | None]:
    """(state, note): the state from the station's retained status (the last will says `offline`),
    with a note when the station has gone quiet while its last status still says it is up."""
    state = row.state or "unknown"
    if state != "offline" and row.last_seen_utc is not None and now - row.last_seen_utc > SILENT_AFTER:
        return state, f"nothing heard for {_age(now - row.last_seen_utc)}"
    return state, None


def _age(delta: timedelta) -> str:
    s = delta.total_seconds()
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def station_marks(session: Session) -> list[StationMark]:
    return [
        StationMark(r.station_id, r.lat_deg, r.lon_deg, r.state, f"/web/stations/{r.station_id}")
        for r in session.scalars(select(Station).order_by(Station.station_id))
    ]


@dataclass
class ObservationView:
    observation_id: str
    station_id: str
    camera_id: str
    first_utc: datetime
    n_frames: int
    event_id: int | None
    label: str | None = None
    score: float | None = None
    reason: str | None = None
    aircraft: dict | None = None
    peak_mag: float | None = None
    image_url: str | None = None  # the max-frame PNG, served by the API's /files route
    time_source: str | None = None
    pps_lost: bool = False


def observation_view(row: Observation, image_url: str | None = None) -> ObservationView:
    report = row.report_json or {}
    cls = report.get("classification") or {}
    det = report.get("detector") or {}
    tq = report.get("time_quality") or {}
    mags = [f.get("mag") for f in report.get("frames", []) if isinstance(f.get("mag"), int | float)]
    peak = det.get("peak_mag") if det.get("peak_mag") is not None else (min(mags) if mags else None)
    return ObservationView(
        observation_id=row.observation_id,
        station_id=row.station_id,
        camera_id=row.camera_id,
        first_utc=row.first_utc,
        n_frames=row.n_frames,
        event_id=row.event_id,
        label=cls.get("label"),
        score=cls.get("score"),
        reason=cls.get("reason"),
        aircraft=report.get("aircraft"),
        peak_mag=peak,
        image_url=image_url,
        time_source=tq.get("source"),
        pps_lost=bool(tq.get("pps_lost")),
    )


def image_urls(session: Session, rows: list[Observation]) -> dict[str, str]:
    """observation_id -> URL of its max-frame PNG among the uploaded files (absent: no entry).

    The PNG is the report's `png` product (`edge.process.write_products` names it
    `<observation_id>.png`); its bytes are served by the API's `/files/{station}/{observation}/{name}`.
    """
    if not rows:
        return {}
    wanted: dict[str, set[str]] = {}
    for row in rows:
        names = {p.get("name") for p in (row.report_json or {}).get("products", []) if p.get("kind") == "png"}
        wanted[row.observation_id] = names or {f"{row.observation_id}.png"}
    found: dict[str, str] = {}
    query = select(ProductFile).where(ProductFile.observation_id.in_(list(wanted))).order_by(ProductFile.id)
    for f in session.scalars(query):
        if f.name in wanted.get(f.observation_id, ()):
            found.setdefault(f.observation_id, file_url(f.station_id, f.observation_id, f.name))
    return found


def observations_of(session: Session, where, limit: int = 200) -> list[ObservationView]:
    rows = list(
        session.scalars(
            select(Observation)
            .where(where)
            .order_by(Observation.first_utc.desc(), Observation.id)
            .limit(limit)
        )
    )
    images = image_urls(session, rows)
    return [observation_view(r, images.get(r.observation_id)) for r in rows]


@dataclass
class EventSummary:
    id: int
    status: str
    first_utc: datetime
    n_observations: int
    n_stations: int
    failure_reason: str | None
    showers: list[str] = field(default_factory=list)
    v_g_kms: float | None = None
    observations: list[ObservationView] = field(default_factory=list)


def latest_events(session: Session, limit: int, offset: int = 0) -> tuple[int, list[EventSummary]]:
    """(total, events newest first) with their observations and orbits."""
    total = int(session.scalar(select(func.count()).select_from(Event)))
    events = list(
        session.scalars(
            select(Event).order_by(Event.first_utc.desc(), Event.id.desc()).limit(limit).offset(offset)
        )
    )
    ids = [e.id for e in events]
    summaries = {
        e.id: EventSummary(e.id, e.status, e.first_utc, e.n_observations, e.n_stations, e.failure_reason)
        for e in events
    }
    for o in session.scalars(select(Orbit).where(Orbit.event_id.in_(ids)).order_by(Orbit.id)):
        s = summaries[o.event_id]
        if o.shower_code and o.shower_code not in s.showers:
            s.showers.append(o.shower_code)
        if s.v_g_kms is None:
            s.v_g_kms = o.v_g_kms
    for view in observations_of(session, Observation.event_id.in_(ids), limit=50 * max(1, len(ids))):
        summaries[view.event_id].observations.append(view)
    for s in summaries.values():
        s.observations.sort(key=lambda v: (v.first_utc, v.observation_id))
    return total, [summaries[i] for i in ids]


def light_curves(reports: list[dict]) -> list[Series]:
    """Per-observation magnitudes against seconds after the earliest frame of `reports`."""
    starts = [_utc(r["frames"][0]["utc"]) for r in reports if r.get("frames")]
    if not starts:
        return []
    t0 = min(starts)
    out = []
    for r in reports:
        frames = r.get("frames") or []
        t = np.array([(_utc(f["utc"]) - t0).total_seconds() for f in frames], float)
        mag = np.array([f["mag"] if isinstance(f.get("mag"), int | float) else np.nan for f in frames], float)
        out.append(Series(f"{r.get('station_id')}/{r.get('camera_id')}", t, mag))
    return out


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def track_of(solution: dict, label: str = "") -> Track | None:
    traj = solution.get("trajectory") or {}
    b, e = traj.get("begin") or {}, traj.get("end") or {}
    try:
        return Track(
            b["lat_deg"], b["lon_deg"], e["lat_deg"], e["lon_deg"], b["height_m"], e["height_m"], label
        )
    except KeyError:
        return None


def frame_heights(solution: dict, reports: list[dict]) -> list[Series]:
    """Per station, the height (km) of the trajectory point nearest each frame's line of sight,
    against time after the trajectory's begin (seconds, clocks corrected by the fitted offsets)."""
    from cloud_bridge.trajectory.geometry import closest_points_on_line
    from cloud_bridge.trajectory.observations import lines_of_sight_from_report
    from edge.geometry.earth import ecef_to_geodetic, geodetic_to_ecef
    from edge.protocol import ObservationReport

    traj = solution.get("trajectory") or {}
    b, e = traj.get("begin"), traj.get("end")
    if not b or not e:
        return []
    p = geodetic_to_ecef(b["lat_deg"], b["lon_deg"], b["height_m"])
    d = geodetic_to_ecef(e["lat_deg"], e["lon_deg"], e["height_m"]) - p
    d = d / np.linalg.norm(d)
    offsets = traj.get("timing_offsets_s") or {}
    used = set(solution.get("observation_ids") or [])
    out = []
    for data in reports:
        if used and data.get("observation_id") not in used:
            continue
        try:
            report = ObservationReport.model_validate(data)
            los = lines_of_sight_from_report(report, b["t_unix"])
        except ValueError as exc:
            log.info("event=heights_skipped observation=%s reason=%s", data.get("observation_id"), exc)
            continue
        n = los.n_frames
        s, _ = closest_points_on_line(
            p[None], d[None], np.repeat(los.site_ecef_m[None], n, 0), los.los_ecef[None]
        )
        points = p[None] + s[0][:, None] * d[None]
        _, _, h = ecef_to_geodetic(points)
        t = los.t_s - float(offsets.get(report.station_id, 0.0))
        out.append(Series(f"{report.station_id}/{report.camera_id}", t, h / 1e3))
    return out


def fitted_height_line(solution: dict) -> Series | None:
    traj = solution.get("trajectory") or {}
    b, e = traj.get("begin"), traj.get("end")
    if not b or not e:
        return None
    return Series(
        "fitted trajectory",
        np.array([0.0, e["t_unix"] - b["t_unix"]]),
        np.array([b["height_m"], e["height_m"]]) / 1e3,
    )
