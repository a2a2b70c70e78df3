"""The bridge's web pages for people: `router(store, settings)` (see `cloud_bridge.web.pages`)."""

from __future__ import annotations


def router(store, settings=None, **options):
    """The pages' APIRouter (`cloud_bridge.web.pages.router`). Imported on call: the pages use the
    API's dependencies, and `cloud_bridge.api.create_app` imports this package."""
    from cloud_bridge.web.pages import router as make_router

    return make_router(store, settings, **options)


__all__ = ["router"]
