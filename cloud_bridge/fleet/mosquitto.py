"""The external Mosquitto broker's password and ACL files, written from the stations' credentials.

Mosquitto (Debian package `mosquitto`, 2.x) reads `password_file` and `acl_file` at start and again
on SIGHUP. The bridge rewrites both whenever a station enrols (atomically: a temporary file renamed
over the old one) and then signals the broker: `MosquittoAuth(..., pid=...)` or `pid_file=...`
(Mosquitto's own `pid_file` option). Without either, reloading is left to the operator
(`systemctl reload mosquitto`, which sends SIGHUP).

Password lines are Mosquitto's PBKDF2-SHA512 format (`user:$7$101$salt$hash`), made by the
broker's own tool `mosquitto_passwd -U` on a temporary file, so the bridge never writes a format
of its own. The ACL confines every station to its own topics, with the username equal to the
station id:

    user <bridge user>                         the bridge: everything under skytrail/v1/
    topic readwrite skytrail/v1/#
    pattern write skytrail/v1/%u/status        a station: publish its own status, telemetry,
    pattern write skytrail/v1/%u/telemetry     reports and command results, and read its own
    pattern write skytrail/v1/%u/obs           commands; nothing else
    pattern write skytrail/v1/%u/cmd/result
    pattern read skytrail/v1/%u/cmd

A station publishing under another station's topic is then refused by the broker itself: with MQTT
3.1.1 Mosquitto still acknowledges the PUBLISH (the protocol has no way to refuse one), logs
"Denied PUBLISH from <client>", and delivers it to nobody, so the bridge never sees it.

The broker's listener configuration (TLS, `allow_anonymous false`, `message_size_limit`) is the
operator's; a minimal one:

    listener 8883
    cafile /etc/mosquitto/ca.crt
    certfile /etc/mosquitto/server.crt
    keyfile /etc/mosquitto/server.key
    allow_anonymous false
    password_file /etc/mosquitto/skytrail.passwd
    acl_file /etc/mosquitto/skytrail.acl
    message_size_limit 1048576
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import select

from cloud_bridge.store import Store
from cloud_bridge.store.models import StationCredential
from edge.protocol.topics import TOPIC_ROOT

log = logging.getLogger(__name__)

MOSQUITTO_PASSWD = "mosquitto_passwd"


class MosquittoError(RuntimeError):
    """The password file could not be made or the broker could not be told to reload."""


def hash_password(password: str, username: str = "user") -> str:
    """Mosquitto's hash of `password` (`$7$...`), made by `mosquitto_passwd -U` on a private temp file
    (the password never appears on a command line)."""
    tool = shutil.which(MOSQUITTO_PASSWD) or (
        "/usr/bin/mosquitto_passwd" if Path("/usr/bin/mosquitto_passwd").exists() else None
    )
    if tool is None:
        raise MosquittoError("mosquitto_passwd not found: install the Debian package 'mosquitto'")
    if ":" in username or "\n" in password or "\n" in username:
        raise ValueError("a username may not hold ':' and neither may hold a newline")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "passwd"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"{username}:{password}\n")
        done = subprocess.run([tool, "-U", str(path)], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise MosquittoError(f"mosquitto_passwd -U failed: {(done.stderr or done.stdout).strip()}")
        line = path.read_text().strip()
    _, _, hashed = line.partition(":")
    if not hashed.startswith("$"):
        raise MosquittoError(f"mosquitto_passwd wrote an unexpected line for {username!r}")
    return hashed


def acl_text(bridge_username: str) -> str:
    """The ACL file: the bridge may do everything under the Skytrail root, a station only its own."""
    station_rules = [
        f"pattern write {TOPIC_ROOT}/%u/status",
        f"pattern write {TOPIC_ROOT}/%u/telemetry",
        f"pattern write {TOPIC_ROOT}/%u/obs",
        f"pattern write {TOPIC_ROOT}/%u/cmd/result",
        f"pattern read {TOPIC_ROOT}/%u/cmd",
    ]
    return (
        "# written by the Skytrail bridge (cloud_bridge.fleet.mosquitto); changes are overwritten\n"
        f"user {bridge_username}\ntopic readwrite {TOPIC_ROOT}/#\n\n" + "\n".join(station_rules) + "\n"
    )


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o640)  # the broker's group reads it; others must not see the hashes
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class MosquittoAuth:
    """Writes the broker's password and ACL files from the store and asks the broker to reload.

    bridge_username / bridge_password_hash: the bridge's own MQTT user (a `$7$` hash as made by
    `hash_password`, so that the bridge's configuration need not hold the password in the file).
    pid / pid_file: the Mosquitto process to send SIGHUP to; neither: the operator reloads it.
    """

    def __init__(
        self,
        passwd_file: Path,
        acl_file: Path,
        *,
        bridge_username: str,
        bridge_password_hash: str,
        pid: int | None = None,
        pid_file: Path | None = None,
    ):
        self.passwd_file, self.acl_file = Path(passwd_file), Path(acl_file)
        self.bridge_username, self.bridge_password_hash = bridge_username, bridge_password_hash
        self.pid, self.pid_file = pid, Path(pid_file) if pid_file else None

    def write(self, store: Store) -> int:
        """Rewrite both files from the stations' credentials; the number of station users written."""
        with store.transaction() as session:
            rows = list(
                session.execute(
                    select(StationCredential.mqtt_username, StationCredential.mqtt_password_hash).order_by(
                        StationCredential.mqtt_username
                    )
                )
            )
        lines = [f"{self.bridge_username}:{self.bridge_password_hash}"]
        lines += [
            f"{user}:{hashed}"
            for user, hashed in rows
            if user != self.bridge_username and hashed.startswith("$")
        ]
        _write_atomic(self.passwd_file, "\n".join(lines) + "\n")
        _write_atomic(self.acl_file, acl_text(self.bridge_username))
        log.info(
            "event=mosquitto_files_written stations=%d passwd=%s acl=%s",
            len(rows),
            self.passwd_file,
            self.acl_file,
        )
        return len(rows)

    def reload(self) -> bool:
        """SIGHUP the broker (it re-reads both files); False when no pid is configured."""
        pid = self.pid
        if pid is None and self.pid_file is not None:
            try:
                pid = int(self.pid_file.read_text().strip())
            except (OSError, ValueError) as exc:
                raise MosquittoError(f"cannot read Mosquitto's pid from {self.pid_file}: {exc}") from exc
        if pid is None:
            log.warning("event=mosquitto_reload_skipped reason=no_pid_configured")
            return False
        try:
            os.kill(pid, signal.SIGHUP)
        except OSError as exc:
            raise MosquittoError(f"cannot signal Mosquitto (pid {pid}): {exc}") from exc
        log.info("event=mosquitto_reloaded pid=%d", pid)
        return True

    def sync(self, store: Store) -> int:
        """write() then reload()."""
        n = self.write(store)
        self.reload()
        return n
