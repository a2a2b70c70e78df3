"""The bridge's web pages for people: `router(store, settings)`, included by `cloud_bridge.api.create_app`.

Server-rendered HTML (Jinja2 templates in `templates/`) with matplotlib SVG plots
(`cloud_bridge.web.plots`); no JavaScript library and nothing fetched from elsewhere, so the pages
work offline. Data come from the store (`cloud_bridge.web.views`). The network overview is `/`;
the other pages live under `/web/` so that they never meet the REST API's resource paths:

    /                             network overview: station map with online state, latest events
    /web/events                   latest events, their max-frame images and light curves
    /web/events/{id}              one event: ground track, height vs time, radiant, orbit elements
                                  with uncertainties, shower, per-station residuals, observations
    /web/radiants                 radiants of all orbits on the sky, coloured by shower
    /web/stations/{id}            a station: state, last telemetry, time quality, its observations
    /web/plots/...svg             the plots, as SVG images

Who sees what follows the API's settings (`ApiSettings`): with anonymous access off, the pages need
a bearer token too. Station health (state, telemetry, time quality) is shown to everyone when
`public_station_health` is true (the default: a network's status page is public), else only to the
station's owner and admins. Max-frame images are the stations' uploaded PNG products, served by
the API's `/files/{station}/{observation}/{name}`; where none was uploaded a placeholder says so.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from cloud_bridge.api.config import ApiSettings
from cloud_bridge.api.deps import CurrentUser
from cloud_bridge.store import Event, Observation, Orbit, Station, Store, Trajectory
from cloud_bridge.web import plots, views

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
EVENTS_PER_PAGE = 20
MAX_RADIANTS = 20000


def _utc(t: datetime | None) -> str:
    return "-" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _num(value, fmt: str = "{:.2f}") -> str:
    if isinstance(value, int | float) and math.isfinite(value):
        return fmt.format(value)
    return "-"


def _pm(value, sigma, fmt: str = "{:.3f}") -> str:
    """`value ± sigma` (sigma left out when unknown)."""
    text = _num(value, fmt)
    if text != "-" and isinstance(sigma, int | float) and math.isfinite(sigma):
        text += " ± " + fmt.format(sigma)
    return text


def _scaled(value, factor: float):
    """value * factor for a finite number, else None (stored JSON may hold anything)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value * factor
    return None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _bytes(n) -> str:
    if not isinstance(n, int | float):
        return "-"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return "-"


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters.update(
        utc=_utc, num=_num, pm=_pm, bytes=_bytes, km=lambda v: _scaled(v, 1e-3), ms=lambda v: _scaled(v, 1e3)
    )
    return templates


def _svg_response(make: Callable[[], str], what: str) -> Response:
    """An SVG plot; a plot that cannot be drawn (odd stored data) becomes an SVG saying so."""
    try:
        svg = make()
    except Exception as exc:  # a broken plot must not break the page it sits in
        log.exception("event=plot_failed plot=%s", what)
        svg = plots.error_svg(f"{what}: cannot draw ({type(exc).__name__}: {exc})")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "max-age=30"})


ORBIT_ELEMENTS = [
    ("ra_g_deg", "geocentric radiant RA", "deg", "{:.3f}"),
    ("dec_g_deg", "geocentric radiant Dec", "deg", "{:.3f}"),
    ("v_g_kms", "geocentric speed v_g", "km/s", "{:.3f}"),
    ("v_inf_kms", "speed before the atmosphere v_inf", "km/s", "{:.3f}"),
    ("v_h_kms", "heliocentric speed v_h", "km/s", "{:.3f}"),
    ("a_au", "semi-major axis a", "AU", "{:.4f}"),
    ("e", "eccentricity e", "", "{:.4f}"),
    ("i_deg", "inclination i", "deg", "{:.3f}"),
    ("node_deg", "ascending node Ω", "deg", "{:.4f}"),
    ("peri_deg", "argument of perihelion ω", "deg", "{:.3f}"),
    ("q_au", "perihelion distance q", "AU", "{:.4f}"),
    ("Q_au", "aphelion distance Q", "AU", "{:.3f}"),
    ("period_yr", "period", "years", "{:.2f}"),
    ("tisserand_j", "Tisserand parameter T_J", "", "{:.3f}"),
    ("solar_longitude_deg", "solar longitude", "deg", "{:.4f}"),
]


def router(
    store: Store,
    settings: ApiSettings | None = None,
    *,
    public_station_health: bool = True,
) -> APIRouter:
    """The pages over `store` (see the module docstring); `settings` are the API's (access is
    checked through the same dependency, which reads them from the app)."""
    web = APIRouter(include_in_schema=False)
    templates = _templates()

    def page(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
        try:
            return templates.TemplateResponse(request, name, context, status_code=status_code)
        except Exception as exc:  # stored data the template did not expect: say so, readably
            log.exception("event=page_failed page=%s", name)
            detail = f"This page cannot be shown: {type(exc).__name__}: {exc}"
            return templates.TemplateResponse(
                request, "error.html", {"title": "Cannot show this page", "detail": detail}, status_code=500
            )

    def not_found(request: Request, what: str) -> HTMLResponse:
        return page(request, "error.html", {"title": "Not found", "detail": what}, 404)

    @web.get("/", response_class=HTMLResponse)
    def overview(request: Request, user: CurrentUser) -> HTMLResponse:
        now = datetime.now(UTC)
        with store.transaction() as session:
            rows = list(session.scalars(select(Station).order_by(Station.station_id)))
            stations = []
            for r in rows:
                state, note = views.station_state(r, now)
                show = public_station_health or user.may_see_station(r.station_id)
                stations.append({"row": r, "state": state if show else None, "note": note if show else None})
            marks = [
                plots.StationMark(
                    s["row"].station_id,
                    s["row"].lat_deg,
                    s["row"].lon_deg,
                    s["state"],
                    f"/web/stations/{s['row'].station_id}",
                )
                for s in stations
            ]
            total, events = views.latest_events(session, 10)
            n_orbits = session.scalar(select(Orbit.id).limit(1)) is not None
        try:
            station_map = plots.station_map_svg(marks)
        except Exception as exc:
            log.exception("event=plot_failed plot=station_map")
            station_map = plots.error_svg(f"map: cannot draw ({exc})")
        return page(
            request,
            "overview.html",
            {
                "stations": stations,
                "station_map": station_map,
                "events": events,
                "total": total,
                "has_orbits": n_orbits,
            },
        )

    @web.get("/web/events", response_class=HTMLResponse)
    def events_list(
        request: Request, user: CurrentUser, offset: Annotated[int, Query(ge=0, le=10**9)] = 0
    ) -> HTMLResponse:
        with store.transaction() as session:
            total, events = views.latest_events(session, EVENTS_PER_PAGE, offset)
        return page(
            request,
            "events.html",
            {"events": events, "total": total, "offset": offset, "per_page": EVENTS_PER_PAGE},
        )

    @web.get("/web/events/{event_id}", response_class=HTMLResponse)
    def event_page(request: Request, user: CurrentUser, event_id: int) -> HTMLResponse:
        with store.transaction() as session:
            event = session.get(Event, event_id) if 0 < event_id < 2**31 else None
            if event is None:
                return not_found(request, f"There is no event {event_id}.")
            observations = views.observations_of(session, Observation.event_id == event_id)
            observations.sort(key=lambda v: (v.first_utc, v.observation_id))
            trajectories = list(
                session.scalars(
                    select(Trajectory).where(Trajectory.event_id == event_id).order_by(Trajectory.id)
                )
            )
            orbits = {
                o.trajectory_id: o for o in session.scalars(select(Orbit).where(Orbit.event_id == event_id))
            }
        solutions = []
        for t in trajectories:
            sol = _dict(t.solution_json)
            traj = _dict(sol.get("trajectory"))
            traj = {**traj, "begin": _dict(traj.get("begin")), "end": _dict(traj.get("end"))}
            traj["observations"] = [r for r in traj.get("observations") or [] if isinstance(r, dict)]
            orbit_json = _dict(orbits[t.id].orbit_json) if t.id in orbits else {}
            solutions.append(
                {
                    "row": t,
                    "sol": sol,
                    "traj": traj,
                    "sigma": _dict(traj.get("sigma")),
                    "orbit": _dict(orbit_json.get("orbit")),
                    "orbit_sigma": _dict(orbit_json.get("orbit_sigma")),
                    "shower": _dict(orbit_json.get("shower") or sol.get("shower")) or None,
                    "offsets": _dict(traj.get("timing_offsets_s")),
                }
            )
        return page(
            request,
            "event.html",
            {
                "event": event,
                "observations": observations,
                "solutions": solutions,
                "elements": ORBIT_ELEMENTS,
            },
        )

    @web.get("/web/radiants", response_class=HTMLResponse)
    def radiants_page(
        request: Request,
        user: CurrentUser,
        shower: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{1,8}$")] = None,
    ) -> HTMLResponse:
        with store.transaction() as session:
            counts: dict[str, int] = {}
            for code in session.scalars(select(Orbit.shower_code)):
                counts[code or "sporadic"] = counts.get(code or "sporadic", 0) + 1
        return page(request, "radiants.html", {"counts": sorted(counts.items()), "shower": shower})

    @web.get("/web/stations/{station_id}", response_class=HTMLResponse)
    def station_page(request: Request, user: CurrentUser, station_id: str) -> HTMLResponse:
        now = datetime.now(UTC)
        with store.transaction() as session:
            row = session.get(Station, station_id) if len(station_id) <= 32 else None
            if row is None:
                return not_found(request, f"There is no station {station_id!r}.")
            observations = views.observations_of(session, Observation.station_id == station_id, limit=100)
        show = public_station_health or user.may_see_station(station_id)
        state, note = views.station_state(row, now)
        telemetry = row.telemetry_json if show else None
        status = row.status_json if show else None
        tq = (telemetry or {}).get("time_quality")
        return page(
            request,
            "station.html",
            {
                "row": row,
                "state": state if show else None,
                "note": note,
                "show": show,
                "status": status,
                "telemetry": telemetry,
                "tq": tq,
                "observations": observations,
            },
        )

    @web.get("/web/static/style.css")
    def style() -> FileResponse:
        return FileResponse(HERE / "static" / "style.css", media_type="text/css")

    # -- plots ------------------------------------------------------------------------------------

    def event_reports(event_id: int) -> list[dict]:
        return store.event_reports(event_id) if 0 < event_id < 2**31 else []

    def event_solutions(event_id: int) -> list[dict]:
        if not 0 < event_id < 2**31:
            return []
        with store.transaction() as session:
            return [
                t.solution_json or {}
                for t in session.scalars(
                    select(Trajectory).where(Trajectory.event_id == event_id).order_by(Trajectory.id)
                )
            ]

    @web.get("/web/plots/events/{event_id}/lightcurve.svg")
    def lightcurve_svg(user: CurrentUser, event_id: int, small: Annotated[bool, Query()] = False) -> Response:
        return _svg_response(
            lambda: plots.light_curve_svg(views.light_curves(event_reports(event_id)), small=small),
            "light curve",
        )

    @web.get("/web/plots/events/{event_id}/track.svg")
    def track_svg(user: CurrentUser, event_id: int) -> Response:
        def make() -> str:
            sols = event_solutions(event_id)
            tracks = [t for i, s in enumerate(sols) if (t := views.track_of(s, f"group {i + 1}"))]
            ids = {sid for s in sols for sid in s.get("station_ids") or []}
            with store.transaction() as session:
                marks = [
                    m for m in views.station_marks(session) if m.station_id in ids and m.lat_deg is not None
                ]
            return plots.track_map_svg(tracks, marks)

        return _svg_response(make, "ground track")

    @web.get("/web/plots/events/{event_id}/height.svg")
    def height_svg(
        user: CurrentUser, event_id: int, group: Annotated[int, Query(ge=0, le=100)] = 0
    ) -> Response:
        def make() -> str:
            sols = event_solutions(event_id)
            if group >= len(sols):
                return plots.error_svg("No trajectory solved.")
            sol = sols[group]
            return plots.height_time_svg(
                views.frame_heights(sol, event_reports(event_id)), views.fitted_height_line(sol)
            )

        return _svg_response(make, "height vs time")

    @web.get("/web/plots/radiants.svg")
    def radiants_svg(
        user: CurrentUser,
        event: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        shower: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{1,8}$")] = None,
    ) -> Response:
        def make() -> str:
            with store.transaction() as session:
                query = select(Orbit.ra_g_deg, Orbit.dec_g_deg, Orbit.shower_code, Orbit.event_id)
                if shower:
                    query = query.where(Orbit.shower_code == shower)
                rows = session.execute(query.order_by(Orbit.begin_utc.desc()).limit(MAX_RADIANTS)).all()
            radiants = [
                plots.Radiant(ra, dec, code, highlight=(eid == event), url=f"/web/events/{eid}")
                for ra, dec, code, eid in rows
            ]
            title = "geocentric radiants (J2000)" + (f", shower {shower}" if shower else "")
            return plots.radiant_svg(radiants, title=title)

        return _svg_response(make, "radiants")

    return web
