"""Enrolment of a station with its bridge: spend the one-time token an admin made
(`skytrail bridge enrol-token STATION_ID`) and keep the credentials the bridge returns.

The station runtime calls `enrol` at start when `[uplink] enrol_token` is set and
`load_credentials` finds nothing; the credentials (MQTT username and password, HTTP token for
uploads) are written to `<data_dir>/credentials.json` with mode 0600, atomically, so a power cut
never leaves half a file. The bridge shows them only once: losing the file means enrolling again
with a new token.

    creds = load_credentials(data_dir) or enrol("https://bridge.example.org", "ams01", token, data_dir)
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

CREDENTIALS_FILE = "credentials.json"


class EnrolmentError(RuntimeError):
    """The bridge refused the enrolment (the reason is the bridge's) or could not be reached."""


@dataclass(frozen=True)
class Credentials:
    station_id: str
    mqtt_username: str
    mqtt_password: str
    http_token: str
    enrolled_utc: str  # ISO 8601


def credentials_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / CREDENTIALS_FILE


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp makes it 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def enrol(
    http_url: str, station_id: str, token: str, data_dir: Path | str, *, timeout_s: float = 30.0
) -> Credentials:
    """POST the token to `<http_url>/fleet/enrol`, store the credentials, and return them."""
    url = http_url.rstrip("/") + "/fleet/enrol"
    try:
        response = httpx.post(url, json={"station_id": station_id, "token": token}, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise EnrolmentError(f"cannot reach the bridge at {url}: {exc}") from exc
    if response.status_code != 200:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text[:300]
        raise EnrolmentError(
            f"the bridge refused enrolment of {station_id!r} ({response.status_code}): {detail}"
        )
    body = response.json()
    creds = Credentials(
        station_id=body["station_id"],
        mqtt_username=body["mqtt_username"],
        mqtt_password=body["mqtt_password"],
        http_token=body["http_token"],
        enrolled_utc=datetime.now(UTC).isoformat(),
    )
    if creds.station_id != station_id:
        raise EnrolmentError(f"the bridge answered for station {creds.station_id!r}, not {station_id!r}")
    _write_private(credentials_path(data_dir), json.dumps(asdict(creds), indent=2))
    log.info("event=enrolled station=%s bridge=%s", station_id, http_url)
    return creds


def load_credentials(data_dir: Path | str) -> Credentials | None:
    """The stored credentials, or None if the station has not enrolled; ValueError for a damaged file."""
    path = credentials_path(data_dir)
    if not path.exists():
        return None
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("event=credentials_readable_by_others path=%s mode=%o", path, mode)
    try:
        return Credentials(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not a credentials file ({exc}); enrol again with a new token") from exc
