"""The station's on-disk outbox: every message waits here until the broker has acknowledged it.

Inputs come from the station: observation reports (from the extractor, through
`Uplink.submit_report`), command results and telemetry (from `edge.uplink.client`). The uplink
reads `pending()` rows, publishes them, records the MQTT message id with `mark_sent()`, and
calls `ack()` only from paho's `on_publish` (PUBACK for QoS 1), so a message leaves the outbox
only once the broker has it. paho-mqtt keeps in-flight QoS 1 messages in memory only; this
file is what survives `kill -9` and power loss.

Durability: SQLite in WAL mode with `synchronous=FULL`. WAL with NORMAL keeps the database
consistent after power loss but may lose the last committed transactions; a report that
`put()` has returned for must not be lost, and reports come a few a minute, so the cost of
one fsync per commit is nothing. `put()` commits before it returns.

Budget policy (`max_bytes`, payload bytes in the outbox, and `min_free_disk_bytes` on the
outbox's file system): observation reports and command results are never dropped: when over
budget, telemetry is evicted oldest first to make room, and if that is not enough a report is
still stored (the excess is logged and counted in `over_budget_puts`). Telemetry is dropped:
a new telemetry message that does not fit (or finds the disk below `min_free_disk_bytes`) is
refused and counted in `dropped_telemetry`, and at most `max_telemetry` telemetry rows are
kept (oldest evicted first). Only a full disk stops a report, with `OutboxError` naming it.

The outbox has its own schema version (`OUTBOX_SCHEMA_VERSION`, in `PRAGMA user_version`);
opening a file of another version is refused with a clear error, never guessed at.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

log = logging.getLogger(__name__)

OUTBOX_SCHEMA_VERSION = 1
"""Version of the outbox's table layout (stored in SQLite's `user_version`)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    topic       TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    qos         INTEGER NOT NULL CHECK (qos IN (0, 1, 2)),
    retain      INTEGER NOT NULL CHECK (retain IN (0, 1)),
    created_s   REAL    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    mid         INTEGER,
    sent_s      REAL
);
CREATE INDEX IF NOT EXISTS messages_kind ON messages (kind, seq);
"""


class OutboxError(RuntimeError):
    """The outbox cannot store or read a message (full disk, foreign file, bad argument)."""


class MessageKind(StrEnum):
    """What an outbox row carries; decides the budget policy."""

    REPORT = "report"
    COMMAND_RESULT = "cmd_result"
    TELEMETRY = "telemetry"
    OTHER = "other"


DROPPABLE_KINDS = frozenset({MessageKind.TELEMETRY})
"""Kinds the budget may drop; everything else is kept until acknowledged."""


@dataclass(frozen=True)
class OutboxMessage:
    """One waiting message: `key` identifies it (the observation id for reports)."""

    seq: int
    key: str
    kind: str
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created_s: float
    attempts: int
    mid: int | None


class Outbox:
    """A durable FIFO of MQTT messages in one SQLite file; safe to share between threads.

    `path`: the database file (created with its directory). `max_bytes`: payload budget in
    bytes. `max_telemetry`: most telemetry rows kept. `min_free_disk_bytes`: below this free
    space telemetry is refused.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = 256 * 1024 * 1024,
        max_telemetry: int = 1000,
        min_free_disk_bytes: int = 64 * 1024 * 1024,
    ):
        if max_bytes <= 0 or max_telemetry < 0 or min_free_disk_bytes < 0:
            raise OutboxError(
                f"bad budget: max_bytes={max_bytes} (> 0), max_telemetry={max_telemetry} "
                f"(>= 0), min_free_disk_bytes={min_free_disk_bytes} (>= 0)"
            )
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.max_telemetry = max_telemetry
        self.min_free_disk_bytes = min_free_disk_bytes
        self.dropped_telemetry = 0
        self.over_budget_puts = 0
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise OutboxError(f"{self.path}: not a usable outbox database: {exc}") from exc

    # -- lifecycle ------------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == OUTBOX_SCHEMA_VERSION:
                return
            if version != 0:
                raise OutboxError(
                    f"{self.path}: outbox schema version {version}, this software reads "
                    f"version {OUTBOX_SCHEMA_VERSION} only"
                )
            tables = self._db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            ).fetchone()[0]
            if tables:
                raise OutboxError(
                    f"{self.path}: holds other tables and no outbox schema version; "
                    "refusing to use it as an outbox"
                )
            self._db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={OUTBOX_SCHEMA_VERSION}")
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database (a checkpoint folds the WAL back into the file)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------

    def put(self, topic: str, payload: bytes, qos: int, retain: bool, kind: str, key: str) -> bool:
        """Store a message durably (committed with fsync before returning); idempotent by `key`.

        Returns True if stored, False if `key` was already in the outbox or the message is
        telemetry that the budget refuses. Raises OutboxError if a report cannot be written.
        """
        kind = str(kind)
        if not key or not isinstance(key, str):
            raise OutboxError(f"key: must be a non-empty string, got {key!r}")
        if qos not in (0, 1, 2):
            raise OutboxError(f"qos: must be 0, 1 or 2, got {qos!r}")
        payload = bytes(payload)
        droppable = kind in DROPPABLE_KINDS
        with self._lock:
            if droppable and self._disk_free_bytes() < self.min_free_disk_bytes:
                self.dropped_telemetry += 1
                log.warning(
                    "outbox=%s event=telemetry_refused reason=disk_free_below_%d",
                    self.path,
                    self.min_free_disk_bytes,
                )
                return False
            try:
                self._db.execute("BEGIN IMMEDIATE")
                if self._db.execute("SELECT 1 FROM messages WHERE key=?", (key,)).fetchone():
                    self._db.execute("ROLLBACK")
                    return False
                if not self._make_room(len(payload), droppable):
                    self._db.execute("ROLLBACK")
                    self.dropped_telemetry += 1
                    log.warning("outbox=%s event=telemetry_refused reason=over_budget", self.path)
                    return False
                self._db.execute(
                    "INSERT INTO messages (key, kind, topic, payload, qos, retain, created_s) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (key, kind, topic, payload, qos, int(bool(retain)), time.time()),
                )
                if droppable and self.max_telemetry >= 0:
                    self._evict_telemetry_over_count()
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise OutboxError(f"{self.path}: cannot store {kind} {key!r}: {exc}") from exc
        return True

    def _disk_free_bytes(self) -> int:
        return shutil.disk_usage(self.path.parent).free

    def _payload_bytes(self) -> int:
        return int(self._db.execute("SELECT coalesce(sum(length(payload)), 0) FROM messages").fetchone()[0])

    def _make_room(self, size: int, droppable: bool) -> bool:
        """Evict telemetry, oldest first, until `size` more bytes fit; False if a droppable one does not."""
        used = self._payload_bytes()
        while used + size > self.max_bytes:
            row = self._db.execute(
                "SELECT seq, length(payload) FROM messages WHERE kind=? ORDER BY seq LIMIT 1",
                (MessageKind.TELEMETRY.value,),
            ).fetchone()
            if row is None:
                break
            self._db.execute("DELETE FROM messages WHERE seq=?", (row[0],))
            self.dropped_telemetry += 1
            used -= row[1]
        if used + size <= self.max_bytes:
            return True
        if droppable:
            return False
        self.over_budget_puts += 1
        log.warning(
            "outbox=%s event=over_budget used_bytes=%d budget_bytes=%d action=kept_anyway",
            self.path,
            used + size,
            self.max_bytes,
        )
        return True

    def _evict_telemetry_over_count(self) -> None:
        n = self._db.execute(
            "SELECT count(*) FROM messages WHERE kind=?", (MessageKind.TELEMETRY.value,)
        ).fetchone()[0]
        excess = n - self.max_telemetry
        if excess > 0:
            self._db.execute(
                "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE kind=? "
                "ORDER BY seq LIMIT ?)",
                (MessageKind.TELEMETRY.value, excess),
            )
            self.dropped_telemetry += excess

    # -- reading and acknowledging --------------------------------------------------------------

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Messages not yet handed to the client in this process, oldest first (at most `limit`)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, key, kind, topic, payload, qos, retain, created_s, attempts, mid FROM messages "
                "WHERE mid IS NULL ORDER BY seq LIMIT ?",
                (int(limit),),
            ).fetchall()
        return [
            OutboxMessage(r[0], r[1], r[2], r[3], bytes(r[4]), r[5], bool(r[6]), r[7], r[8], r[9])
            for r in rows
        ]

    def all(self) -> list[OutboxMessage]:
        """Every message in the outbox, oldest first (for inspection and tests)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, key, kind, topic, payload, qos, retain, created_s, attempts, mid FROM messages "
                "ORDER BY seq"
            ).fetchall()
        return [
            OutboxMessage(r[0], r[1], r[2], r[3], bytes(r[4]), r[5], bool(r[6]), r[7], r[8], r[9])
            for r in rows
        ]

    def mark_sent(self, key: str, mid: int) -> None:
        """Record that `key` was handed to the MQTT client as message id `mid` (not yet acknowledged)."""
        with self._lock:
            self._db.execute(
                "UPDATE messages SET mid=?, sent_s=?, attempts=attempts+1 WHERE key=?",
                (int(mid), time.time(), key),
            )

    def reset_sent(self) -> int:
        """Make every un-acknowledged message pending again (at start-up: paho's memory is gone)."""
        with self._lock:
            return self._db.execute(
                "UPDATE messages SET mid=NULL, sent_s=NULL WHERE mid IS NOT NULL"
            ).rowcount

    def ack(self, key: str) -> bool:
        """Remove `key`: call only when the broker acknowledged it (PUBACK). True if it was there."""
        with self._lock:
            return self._db.execute("DELETE FROM messages WHERE key=?", (key,)).rowcount > 0

    def depth(self, kind: str | None = None) -> int:
        """Number of messages waiting (of one kind, or all)."""
        with self._lock:
            if kind is None:
                return int(self._db.execute("SELECT count(*) FROM messages").fetchone()[0])
            return int(self._db.execute("SELECT count(*) FROM messages WHERE kind=?", (kind,)).fetchone()[0])

    def size_bytes(self) -> int:
        """Payload bytes waiting in the outbox."""
        with self._lock:
            return self._payload_bytes()

    def integrity_ok(self) -> bool:
        """SQLite's own integrity check of the file (True when 'ok')."""
        with self._lock:
            return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
