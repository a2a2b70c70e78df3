"""What the routes are given (FastAPI dependencies): a read session on the store, the settings,
the caller (from the `Authorization: Bearer` token), a role check, and the page asked for, with
`paged`, which answers a page of a query as a `Listing`.

The store and the settings live on `app.state` (set by `create_app`), never in module globals, so
several apps with different stores can run in one process (the tests do).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cloud_bridge.api.config import ApiSettings, Role, hash_token
from cloud_bridge.api.schemas import Listing
from cloud_bridge.store import Store
from edge.protocol.models import STATION_ID_PATTERN

bearer = HTTPBearer(auto_error=False, description="a token from the bridge's API settings")

MAX_OFFSET = 10**9
"""Largest offset accepted (beyond it a page is empty anyway; bounded so SQL never overflows)."""


@dataclass(frozen=True)
class User:
    """The caller: `name` (`anonymous` without a token), `role`, and the stations an owner owns."""

    name: str
    role: Role
    station_ids: frozenset[str] = field(default_factory=frozenset)

    def may_see_station(self, station_id: str | None) -> bool:
        """Whether this caller may read a station's private data (rejected messages, telemetry)."""
        return self.role == Role.ADMIN or (self.role == Role.OWNER and station_id in self.station_ids)

    def may_upload_for(self, station_id: str) -> bool:
        """Whether this caller may upload product files of `station_id`: that station's own token,
        or an admin."""
        return self.role == Role.ADMIN or (self.role == Role.STATION and station_id in self.station_ids)


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def get_session(store: Annotated[Store, Depends(get_store)]) -> Iterator[Session]:
    """One session per request, read only (nothing is added, so the commit at the end is empty)."""
    with store.transaction() as session:
        yield session


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=reason, headers={"WWW-Authenticate": "Bearer"})


def current_user(
    settings: Annotated[ApiSettings, Depends(get_settings)],
    store: Annotated[Store, Depends(get_store)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The caller named by the bearer token; anonymous (public) without one if the settings allow.

    The token's digest is compared with every configured digest by `secrets.compare_digest`, so the
    time taken does not tell how much of a guess was right. A token not in the settings may be a
    station's own (from enrolment, kept hashed in the store): that caller has the `station` role.
    """
    if credentials is None:
        if settings.allow_anonymous:
            return User("anonymous", Role.PUBLIC)
        raise _unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    digest = hash_token(credentials.credentials)
    found = None
    for spec in settings.tokens:
        if secrets.compare_digest(digest, spec.sha256):
            found = spec
    if found is None:
        from cloud_bridge.fleet.enrolment import station_for_http_token

        station_id = station_for_http_token(store, credentials.credentials)
        if station_id is None:
            raise _unauthorized("the bearer token is not valid")
        return User(f"station:{station_id}", Role.STATION, frozenset([station_id]))
    return User(found.name, found.role, frozenset(found.station_ids))


CurrentUser = Annotated[User, Depends(current_user)]
DbSession = Annotated[Session, Depends(get_session)]


def require_role(role: Role):
    """A dependency that lets through callers of `role` or higher, and refuses others with 403."""

    def check(user: CurrentUser) -> User:
        if user.role.rank < role.rank:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this needs the {role.value} role; {user.name!r} has {user.role.value}",
            )
        return user

    return check


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def page(
    settings: Annotated[ApiSettings, Depends(get_settings)],
    limit: Annotated[int | None, Query(ge=1, le=100_000, description="items per page")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")] = 0,
) -> Page:
    """The page asked for; a limit above the settings' max_limit is refused with 422."""
    if limit is None:
        limit = settings.default_limit
    if limit > settings.max_limit:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"limit {limit} exceeds the maximum page size {settings.max_limit}",
        )
    return Page(limit, offset)


PageParams = Annotated[Page, Depends(page)]

T = TypeVar("T")


def paged(
    session: Session, query: Select, page: Page, to_items: Callable[[list[Any]], list[T]]
) -> Listing[T]:
    """The `page` of the rows `query` selects (in its order) as a `Listing`: `total` counts every
    row it selects; `to_items` turns the page's rows into the listed models (all at once, so that
    it may look up what the whole page needs in one query)."""
    # The count needs no order; a subquery counts what any filters and joins of `query` select.
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(session.scalars(query.limit(page.limit).offset(page.offset)))
    return Listing(total=total, limit=page.limit, offset=page.offset, items=to_items(rows))


def as_utc(value: datetime | None, name: str) -> datetime | None:
    """A query time as aware UTC (a time without zone is taken as UTC); 422 if it cannot be."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"{name}: {value!s} is not a usable UTC time ({exc})",
        ) from exc


@dataclass(frozen=True)
class TimeWindow:
    """The listings' [since, until) filter, both aware UTC or None (open)."""

    since: datetime | None
    until: datetime | None

    def apply(self, query, column):
        """`query` restricted to rows whose `column` lies in the window."""
        if self.since is not None:
            query = query.where(column >= self.since)
        if self.until is not None:
            query = query.where(column < self.until)
        return query


def time_range(
    since: Annotated[datetime | None, Query(description="from this UTC time (inclusive, ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="before this UTC time (exclusive, ISO 8601)")] = None,
) -> TimeWindow:
    """The (since, until) filter, both aware UTC; 422 when until is not after since."""
    lo, hi = as_utc(since, "since"), as_utc(until, "until")
    if lo is not None and hi is not None and hi <= lo:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"until ({hi.isoformat()}) must be after since"
        )
    return TimeWindow(lo, hi)


TimeRange = Annotated[TimeWindow, Depends(time_range)]


def check_station_owner(user: User, station_id: str) -> None:
    """403 unless `user` owns `station_id` (admins own every station)."""
    if not user.may_see_station(station_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail=f"{user.name!r} does not own station {station_id!r}"
        )


SHOWER_CODE_PATTERN = r"^[A-Za-z0-9]{2,8}$"
MAX_ID = 2**31 - 1
"""Largest row id accepted in a path (bounded so that SQL never overflows)."""

StationFilter = Annotated[
    str | None, Query(pattern=STATION_ID_PATTERN, description="only this station's (station id)")
]
ShowerFilter = Annotated[
    str | None, Query(pattern=SHOWER_CODE_PATTERN, description="only this shower's (IAU code, e.g. PER)")
]
