"""`create_app(store, settings)`: the bridge's REST API as a FastAPI app over a store.

Routes are in `routes/<resource>.py`; what they are given (session, caller, page) in `deps.py`;
settings in `config.py`. The OpenAPI description is at `/openapi.json`, the browsable docs at
`/docs`. Errors are JSON `{"detail": reason}` with a 4xx status; bad query parameters give 422.
"""

from __future__ import annotations

from fastapi import FastAPI

from cloud_bridge.api.config import ApiSettings
from cloud_bridge.api.routes import events, observations, orbits, rejected, showers, stations
from cloud_bridge.store import Store

ERROR_RESPONSES = {
    401: {"description": "no token where one is needed, or a token that is not valid"},
    403: {"description": "the token's role may not read this"},
    422: {"description": "a query or path parameter that is not valid (detail says which and why)"},
}


def create_app(store: Store, settings: ApiSettings | None = None) -> FastAPI:
    """The API reading `store`; `settings` (tokens, anonymous access, page sizes) default to
    anonymous read-only access with no tokens."""
    app = FastAPI(
        title="Skytrail bridge API",
        version="1",
        description="Stations, observations, events, trajectories, orbits and showers of a Skytrail network.",
        responses=ERROR_RESPONSES,
    )
    app.state.store = store
    app.state.settings = settings or ApiSettings()
    for module in (stations, observations, events, orbits, showers, rejected):
        app.include_router(module.router)
    return app
