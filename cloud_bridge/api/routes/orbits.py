"""`/orbits`: the stored orbits (elements, sigmas, shower) and `/orbits/radiants`, the compact
radiant list a radiant plot needs; both filtered by shower and time of the meteor."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import Select, select

from cloud_bridge.api.deps import CurrentUser, DbSession, PageParams, ShowerFilter, TimeRange, paged
from cloud_bridge.api.schemas import Listing, OrbitOut, RadiantOut
from cloud_bridge.store import Orbit

router = APIRouter(prefix="/orbits", tags=["orbits"])


def orbit_out(row: Orbit) -> OrbitOut:
    out = OrbitOut.model_validate(row)
    out.orbit = row.orbit_json
    return out


def _filtered(times: tuple, shower: str | None) -> Select:
    query = select(Orbit)
    query = times.apply(query, Orbit.begin_utc)
    if shower is not None:
        query = query.where(Orbit.shower_code == shower.upper())
    return query.order_by(Orbit.begin_utc, Orbit.id)


@router.get("", response_model=Listing[OrbitOut])
def list_orbits(
    session: DbSession, _user: CurrentUser, page: PageParams, times: TimeRange, shower: ShowerFilter = None
) -> Listing[OrbitOut]:
    """Orbits of meteors that began in [since, until), of one shower if asked."""
    return paged(session, _filtered(times, shower), page, lambda rows: [orbit_out(r) for r in rows])


@router.get("/radiants", response_model=Listing[RadiantOut])
def list_radiants(
    session: DbSession, _user: CurrentUser, page: PageParams, times: TimeRange, shower: ShowerFilter = None
) -> Listing[RadiantOut]:
    """Geocentric radiants (RA, Dec, v_g, sigma, shower) for plotting, by meteor time."""
    return paged(
        session, _filtered(times, shower), page, lambda rows: [RadiantOut.model_validate(r) for r in rows]
    )
