"""`/showers`: the meteor-shower table the bridge associates orbits with (`edge.catalogue.showers`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from cloud_bridge.api.deps import SHOWER_CODE_PATTERN, CurrentUser
from edge.catalogue.showers import Shower, load_showers

router = APIRouter(prefix="/showers", tags=["showers"])


# the catalogue's own dataclass is the response model: one definition of a shower's fields
@router.get("", response_model=list[Shower])
def list_showers(_user: CurrentUser) -> list[Shower]:
    """Every shower of the table, by code."""
    return [s for _, s in sorted(load_showers().items())]


@router.get("/{code}", response_model=Shower, responses={404: {"description": "no such shower"}})
def get_shower(code: Annotated[str, Path(pattern=SHOWER_CODE_PATTERN)], _user: CurrentUser) -> Shower:
    shower = load_showers().get(code.upper())
    if shower is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no shower {code!r} in the bridge's table")
    return shower
