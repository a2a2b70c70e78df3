"""`create_app(store, settings, ...)`: the bridge's HTTP service as a FastAPI app over a store: the
REST API, the stations' enrolment and file uploads, and fleet commands.

Routes are in `routes/<resource>.py`; what they are given (session, caller, page) in `deps.py`;
settings in `config.py`. The OpenAPI description is at `/openapi.json`, the browsable docs at
`/docs`. Errors are JSON `{"detail": reason}` with a 4xx status; bad query parameters give 422.
Every refused request is logged with its reason and counted by status and route (`/stats`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloud_bridge.api.config import ApiSettings
from cloud_bridge.api.routes import (
    commands,
    events,
    fleet,
    observations,
    orbits,
    rejected,
    showers,
    stations,
    stats,
)
from cloud_bridge.api.routes import files as files_routes
from cloud_bridge.store import Store
from cloud_bridge.web import router as web_router

log = logging.getLogger(__name__)

ERROR_RESPONSES = {
    401: {"description": "no token where one is needed, or a token that is not valid"},
    403: {"description": "the token's role may not read this"},
    422: {"description": "a query or path parameter that is not valid (detail says which and why)"},
}


def _note_rejection(request: Request, status_code: int, reason: str) -> None:
    route = request.scope.get("route")
    where = getattr(route, "path", None) or "(no route)"
    key = f"{status_code} {request.method} {where}"
    with request.app.state.rejection_lock:
        request.app.state.api_rejected[key] += 1
    log.info(
        "event=api_rejected status=%d method=%s route=%s reason=%r",
        status_code,
        request.method,
        where,
        reason[:300],
    )


def create_app(
    store: Store,
    settings: ApiSettings | None = None,
    *,
    files=None,
    publisher=None,
    ingestor=None,
    mosquitto=None,
) -> FastAPI:
    """The HTTP service over `store`.

    settings: tokens, anonymous access, page sizes, upload limits (default: anonymous read-only).
    files: a `cloud_bridge.files.FileStore` for uploads and downloads (none: those answer 503).
    publisher: `publish(topic, payload)` for fleet commands (`MqttIngest.publish`); none: commands
    are stored with the reason they were not sent. ingestor: whose counters `/stats` shows.
    mosquitto: a `cloud_bridge.fleet.mosquitto.MosquittoAuth` to update when a station enrols.
    """
    app = FastAPI(
        title="Skytrail bridge API",
        version="1",
        description="Stations, observations, events, trajectories, orbits and showers of a Skytrail "
        "network; station enrolment, product file uploads and fleet commands.",
        responses=ERROR_RESPONSES,
    )
    app.state.store = store
    app.state.settings = settings = settings or ApiSettings()
    app.state.publisher = publisher
    app.state.ingestor = ingestor
    app.state.mosquitto = mosquitto
    app.state.api_rejected = Counter()
    app.state.rejection_lock = threading.Lock()
    if files is not None:
        from cloud_bridge.files import UploadService

        app.state.uploads = UploadService(
            store, files, max_file_bytes=settings.max_file_bytes, max_chunk_bytes=settings.max_chunk_bytes
        )
    else:
        app.state.uploads = None

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code >= 400:
            _note_rejection(request, exc.status_code, str(exc.detail))
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        _note_rejection(request, 422, f"{'.'.join(map(str, first.get('loc', ())))}: {first.get('msg', '')}")
        return await request_validation_exception_handler(request, exc)

    for module in (
        stations,
        commands,
        observations,
        events,
        orbits,
        showers,
        rejected,
        files_routes,
        fleet,
        stats,
    ):
        app.include_router(module.router)
    app.include_router(web_router(store, app.state.settings))  # the web pages, at / and /web/
    return app
