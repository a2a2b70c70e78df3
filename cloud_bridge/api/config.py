"""Settings of the REST API: who may read what (tokens with roles) and page sizes.

One pydantic model, validated at start, read from a JSON file and/or `SKYTRAIL_API_*` environment
variables (`ApiSettings.from_env`). Tokens are kept only as SHA-256 hex digests, so a settings file
never holds a usable token; `hash_token` makes the digest of a new one.

    {"allow_anonymous": true,
     "tokens": [{"name": "ops", "role": "admin", "sha256": "<hash_token('...')>"},
                {"name": "ams-club", "role": "owner", "sha256": "...", "station_ids": ["ams01"]}]}
"""

from __future__ import annotations

import hashlib
import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from edge.protocol.models import STATION_ID_PATTERN


class Role(StrEnum):
    """What a caller may read: `public` (stored science data), `owner` (also its stations' rejected
    messages, status, telemetry and commands), `admin` (everything, and fleet actions). `station`:
    a station's own HTTP token from enrolment (kept in the store, not in these settings): reads
    what the public reads and uploads that station's product files."""

    PUBLIC = "public"
    STATION = "station"
    OWNER = "owner"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {"public": 0, "station": 0, "owner": 1, "admin": 2}[self.value]


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is kept in the settings."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenSpec(BaseModel):
    """One accepted bearer token: its holder's name, role, and (owners) the stations it owns."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    role: Role
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    station_ids: list[Annotated[str, StringConstraints(pattern=STATION_ID_PATTERN)]] = []

    @model_validator(mode="after")
    def _owner_has_stations(self) -> TokenSpec:
        if self.role == Role.OWNER and not self.station_ids:
            raise ValueError(f"token {self.name!r}: an owner token needs station_ids")
        if self.role == Role.STATION and len(self.station_ids) != 1:
            raise ValueError(f"token {self.name!r}: a station token needs exactly one station id")
        return self

    @classmethod
    def from_plain(cls, name: str, role: Role | str, token: str, station_ids: list[str] = ()) -> TokenSpec:
        """A spec for a plain token (hashed here); for tests and for `skytrail` commands that mint one."""
        return cls(name=name, role=Role(role), sha256=hash_token(token), station_ids=list(station_ids))


class ApiSettings(BaseModel):
    """allow_anonymous: public routes may be read without a token. tokens: accepted tokens.
    default_limit / max_limit: page size when none is asked, and the largest page one may ask;
    online_window_s, max_file_bytes, max_chunk_bytes: see their descriptions."""

    model_config = ConfigDict(extra="forbid")

    allow_anonymous: bool = True
    tokens: list[TokenSpec] = []
    default_limit: int = Field(100, ge=1)
    max_limit: int = Field(1000, ge=1, le=100_000)
    online_window_s: float = Field(
        600.0,
        gt=0,
        description="a station is online when its last message is at most this old and its "
        "status is not offline",
    )
    max_file_bytes: int = Field(1024**3, ge=1, description="largest product file accepted, bytes")
    max_chunk_bytes: int = Field(16 * 1024**2, ge=1024, description="largest upload chunk (one PUT), bytes")

    @model_validator(mode="after")
    def _limits(self) -> ApiSettings:
        if self.default_limit > self.max_limit:
            raise ValueError(f"default_limit {self.default_limit} exceeds max_limit {self.max_limit}")
        return self

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ApiSettings:
        """Settings from `SKYTRAIL_API_SETTINGS` (a JSON file), then `SKYTRAIL_API_ALLOW_ANONYMOUS`
        (true/false) and `SKYTRAIL_API_TOKENS` (a JSON list of token specs) over it."""
        env = os.environ if environ is None else environ
        data: dict = {}
        if path := env.get("SKYTRAIL_API_SETTINGS"):
            data = json.loads(Path(path).read_text())
        if (anon := env.get("SKYTRAIL_API_ALLOW_ANONYMOUS")) is not None:
            data["allow_anonymous"] = anon.strip().lower() in ("1", "true", "yes", "on")
        if tokens := env.get("SKYTRAIL_API_TOKENS"):
            data["tokens"] = json.loads(tokens)
        return cls.model_validate(data)
