"""`/showers`: the meteor-shower table the bridge associates orbits with (`edge.catalogue.showers`)."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from cloud_bridge.api.deps import SHOWER_CODE_PATTERN, CurrentUser
from cloud_bridge.api.schemas import ShowerOut
from edge.catalogue.showers import Shower, load_showers

router = APIRouter(prefix="/showers", tags=["showers"])


def shower_out(shower: Shower) -> ShowerOut:
    return ShowerOut(**dataclasses.asdict(shower))


@router.get("", response_model=list[ShowerOut])
def list_showers(_user: CurrentUser) -> list[ShowerOut]:
    """Every shower of the table, by code."""
    return [shower_out(s) for _, s in sorted(load_showers().items())]


@router.get("/{code}", response_model=ShowerOut, responses={404: {"description": "no such shower"}})
def get_shower(code: Annotated[str, Path(pattern=SHOWER_CODE_PATTERN)], _user: CurrentUser) -> ShowerOut:
    shower = load_showers().get(code.upper())
    if shower is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no shower {code!r} in the bridge's table")
    return shower_out(shower)
