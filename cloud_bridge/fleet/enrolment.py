"""Enrolling a station: an admin makes a one-time token for a station id; the station sends it back
once (`POST /fleet/enrol`) and receives its credentials: an MQTT username (its station id, so that
the broker's ACL `%u` pattern confines it to its own topics) and password, and an HTTP token of
role `station` for uploading its product files.

The bridge keeps only hashes: the token's SHA-256, the HTTP token's SHA-256, and the MQTT password
as a Mosquitto PBKDF2-SHA512 line (`cloud_bridge.fleet.mosquitto.hash_password`) from which the
broker's password file is written. Enrolling again with a new token replaces the credentials
(rotation; the old ones stop working at once on the HTTP side and at the broker's next reload).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from cloud_bridge.fleet.mosquitto import MosquittoError, hash_password
from cloud_bridge.store import Store, sha256_hex
from cloud_bridge.store.models import EnrolmentToken, StationCredential

log = logging.getLogger(__name__)


def hash_token(token: str) -> str:
    """SHA-256 hex of a token (the same digest as `cloud_bridge.api.config.hash_token`)."""
    return sha256_hex(token.encode())


DEFAULT_TOKEN_VALID_S = 7 * 24 * 3600.0
"""An enrolment token not used within a week expires (a new one is cheap)."""


NO_PASSWORD_HASH = "!"
"""Stored instead of a hash when `mosquitto_passwd` is missing: such a user is left out of the broker's
password file (it cannot log in to a Mosquitto until enrolled again where the tool is installed)."""


class EnrolmentRefused(ValueError):
    """The enrolment token is unknown, used, expired, or for another station (the reason says which)."""


@dataclass(frozen=True)
class IssuedCredentials:
    """What a station receives once, in plain text; the bridge keeps only their hashes."""

    station_id: str
    mqtt_username: str
    mqtt_password: str
    http_token: str


def create_enrolment_token(
    store: Store,
    station_id: str,
    *,
    created_by: str,
    valid_s: float = DEFAULT_TOKEN_VALID_S,
    now_utc: datetime | None = None,
) -> tuple[str, datetime]:
    """A new one-time token for `station_id` and when it expires; only its SHA-256 is stored."""
    if valid_s <= 0:
        raise ValueError(f"valid_s must be > 0, got {valid_s}")
    now = now_utc or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=valid_s)
    with store.transaction() as session:
        session.add(
            EnrolmentToken(
                station_id=station_id,
                token_sha256=hash_token(token),
                created_utc=now,
                expires_utc=expires,
                created_by=created_by[:64],
            )
        )
    log.info("event=enrolment_token_created station=%s by=%s expires=%s", station_id, created_by, expires)
    return token, expires


def enrol(store: Store, station_id: str, token: str, *, now_utc: datetime | None = None) -> IssuedCredentials:
    """Spend `token` for `station_id` and return fresh credentials; EnrolmentRefused if it cannot be.

    The token is marked used by a conditional UPDATE in the same transaction that stores the
    credentials, so two requests racing with one token get one set of credentials between them.
    """
    now = now_utc or datetime.now(UTC)
    digest = hash_token(token)
    issued = IssuedCredentials(
        station_id=station_id,
        mqtt_username=station_id,
        mqtt_password=secrets.token_urlsafe(24),
        http_token=secrets.token_urlsafe(32),
    )
    try:
        password_hash = hash_password(issued.mqtt_password, station_id)
    except MosquittoError as exc:  # the embedded broker needs no hash; an external Mosquitto does
        log.warning("event=mqtt_password_not_hashed station=%s reason=%r", station_id, str(exc))
        password_hash = NO_PASSWORD_HASH
    with store.transaction() as session:
        row = session.scalar(select(EnrolmentToken).where(EnrolmentToken.token_sha256 == digest))
        if row is None or not secrets.compare_digest(row.token_sha256, digest):
            raise EnrolmentRefused("the enrolment token is not valid")
        if row.station_id != station_id:
            raise EnrolmentRefused(f"the enrolment token is not for station {station_id!r}")
        if row.used_utc is not None:
            raise EnrolmentRefused(f"the enrolment token was already used ({row.used_utc.isoformat()})")
        if row.expires_utc <= now:
            raise EnrolmentRefused(f"the enrolment token expired at {row.expires_utc.isoformat()}")
        spent = session.execute(
            update(EnrolmentToken)
            .where(EnrolmentToken.id == row.id, EnrolmentToken.used_utc.is_(None))
            .values(used_utc=now)
        )
        if spent.rowcount != 1:
            raise EnrolmentRefused("the enrolment token was already used")
        store.touch_station(session, station_id, now)
        cred = session.get(StationCredential, station_id)
        if cred is None:
            cred = StationCredential(station_id=station_id)
            session.add(cred)
        cred.mqtt_username = issued.mqtt_username
        cred.mqtt_password_hash = password_hash
        cred.http_token_sha256 = hash_token(issued.http_token)
        cred.issued_utc = now
    log.info("event=station_enrolled station=%s", station_id)
    return issued


def station_for_http_token(store: Store, token: str) -> str | None:
    """The station whose HTTP token this is, or None."""
    digest = hash_token(token)
    with store.transaction() as session:
        found = session.scalar(
            select(StationCredential.station_id).where(StationCredential.http_token_sha256 == digest)
        )
    return found
