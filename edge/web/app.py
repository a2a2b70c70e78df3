"""The station's local web page (FastAPI): what the station is doing now, and the sky-mask editor.

For the school or volunteer hosting the box, on the local network. It reads only the files the
station writes under its data directory (see `edge.web.status` and `edge.station.snapshot`) and
writes only the sky masks (`edge.web.masks`). The supervisor runs it with uvicorn as one of its
children (`[web] port = 8080`). Pages are server-rendered (Jinja2); the mask editor is plain
JavaScript on a canvas; nothing is fetched from outside the box, so it works offline.

Routes: `/` status page; `/api/status` the snapshot as JSON; `/cameras/{id}/latest.png` the
camera's latest frame; `/cameras/{id}/mask` the editor; `/cameras/{id}/mask.png` the saved mask;
`/api/cameras/{id}/mask` GET (saved polygons), PUT (save), DELETE (remove the mask);
`/products/{camera_id}/{observation_id}.png` an event's picture.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from PIL import Image, UnidentifiedImageError
from starlette.exceptions import HTTPException as StarletteHTTPException

from edge.station.snapshot import read_snapshot
from edge.web import masks, status

log = logging.getLogger(__name__)

HERE = Path(__file__).parent


def _format_bytes(n: int | None) -> str:
    if n is None:
        return "unknown"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def _format_utc(t: datetime | None) -> str:
    if t is None:
        return "-"
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _format_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    s = abs(s)
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters.update(bytes=_format_bytes, utc=_format_utc, seconds=_format_seconds)
    return templates


def _frame_size(path: Path) -> tuple[int, int]:
    """(width, height) of a frame PNG; HTTPException 409 when it cannot be read."""
    try:
        with Image.open(path) as image:
            return image.size
    except FileNotFoundError as exc:
        raise HTTPException(404, detail=f"no latest frame for this camera yet ({path})") from exc
    except (OSError, UnidentifiedImageError) as exc:
        raise HTTPException(409, detail=f"the latest frame {path} cannot be read: {exc}") from exc


def create_app(data_dir: Path, station_config_path: Path | None = None) -> FastAPI:
    """The local page over the station data directory `data_dir`; `station_config_path`, if given,
    is checked so that a refused config is shown even when the station could not start."""
    data_dir = Path(data_dir)
    config_path = Path(station_config_path) if station_config_path else None
    app = FastAPI(title="Skytrail station", docs_url=None, redoc_url=None, openapi_url=None)
    templates = _templates()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def camera_or_404(camera_id: str) -> str:
        if not status.valid_camera_id(camera_id):
            raise HTTPException(404, detail=f"no camera {camera_id!r}")
        return camera_id

    @app.get("/", response_class=HTMLResponse)
    def status_page(request: Request) -> HTMLResponse:
        state = status.gather(data_dir, config_path)
        return templates.TemplateResponse(request, "status.html", {"s": state, "snap": state.snapshot})

    @app.get("/api/status")
    def status_json() -> JSONResponse:
        state = status.gather(data_dir, config_path)
        snap = state.snapshot
        return JSONResponse(
            {
                "snapshot": snap.model_dump(mode="json") if snap else None,
                "stale": state.stale,
                "age_s": state.age_s,
                "problems": state.problems,
                "config_error": state.config_error,
            }
        )

    @app.get("/cameras/{camera_id}/latest.png")
    def latest_frame(camera_id: str) -> FileResponse:
        path = status.latest_frame_path(data_dir, camera_or_404(camera_id))
        if not path.is_file():
            raise HTTPException(404, detail=f"no latest frame for camera {camera_id!r} yet")
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-cache"})

    @app.get("/cameras/{camera_id}/mask.png")
    def mask_png(camera_id: str) -> FileResponse:
        path = masks.mask_path(data_dir, camera_or_404(camera_id))
        if not path.is_file():
            raise HTTPException(404, detail=f"camera {camera_id!r} has no sky mask")
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-cache"})

    @app.get("/cameras/{camera_id}/mask", response_class=HTMLResponse)
    def mask_editor(request: Request, camera_id: str) -> HTMLResponse:
        camera_or_404(camera_id)
        frame = status.latest_frame_path(data_dir, camera_id)
        problem, size = None, None
        try:
            size = _frame_size(frame)
        except HTTPException as exc:
            problem = exc.detail
        return templates.TemplateResponse(
            request,
            "mask.html",
            {
                "camera_id": camera_id,
                "size": size,
                "problem": problem,
                "has_mask": masks.mask_path(data_dir, camera_id).is_file(),
            },
            status_code=200 if problem is None else 404,
        )

    @app.get("/api/cameras/{camera_id}/mask")
    def get_mask(camera_id: str) -> dict:
        camera_or_404(camera_id)
        return {
            "camera_id": camera_id,
            "exists": masks.mask_path(data_dir, camera_id).is_file(),
            "saved": masks.load_polygons(data_dir, camera_id),
        }

    @app.put("/api/cameras/{camera_id}/mask")
    def put_mask(camera_id: str, body: masks.MaskRequest) -> dict:
        camera_or_404(camera_id)
        width, height = _frame_size(status.latest_frame_path(data_dir, camera_id))
        if (body.width_px, body.height_px) != (width, height):
            raise HTTPException(
                409,
                detail=f"the mask was drawn on a {body.width_px}x{body.height_px} frame but camera "
                f"{camera_id!r} now gives {width}x{height} frames: reload the page and draw again",
            )
        result = masks.save_mask(data_dir, camera_id, body)
        log.info(
            "event=mask_saved camera=%s polygons=%d sky_fraction=%s",
            camera_id,
            result["n_polygons"],
            result["sky_fraction"],
        )
        return result

    @app.delete("/api/cameras/{camera_id}/mask")
    def delete_mask(camera_id: str) -> dict:
        removed = masks.remove_mask(data_dir, camera_or_404(camera_id))
        log.info("event=mask_removed camera=%s had_mask=%s", camera_id, removed)
        return {"camera_id": camera_id, "removed": removed}

    @app.get("/products/{camera_id}/{observation_id}.png")
    def event_png(camera_id: str, observation_id: str) -> FileResponse:
        snap = None
        try:
            snap = read_snapshot(data_dir)
        except ValueError:
            pass
        station_ids = (
            [snap.station_id]
            if snap
            else sorted(p.name for p in (data_dir / "products").glob("*") if p.is_dir())
        )
        for station_id in station_ids:
            path = status.product_file(data_dir, station_id, camera_id, observation_id, "png")
            if path is not None:
                return FileResponse(path, media_type="image/png")
        raise HTTPException(404, detail=f"no picture for observation {observation_id!r}")

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException):
        # browsers get a readable page, the editor's fetch() calls get JSON
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status_code": exc.status_code, "detail": exc.detail},
            status_code=exc.status_code,
        )

    return app
