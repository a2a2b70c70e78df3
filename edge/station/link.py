"""The pipe between the supervisor and one child process: heartbeats up, commands down.

Each child gets its own duplex pipe (`multiprocessing.Pipe`, a socket pair), made fresh at every
start, so a child killed in the middle of a write breaks only its own pipe. Messages are tuples:
- child -> supervisor: `("hb", stats)` every heartbeat (stats: a dict, see each child);
  `("reply", request_id, ok, message, data)` for a command; `("cmd", request_id, kind, args)` when
  the uplink child relays a fleet command that the supervisor carries out;
- supervisor -> child: `("stop",)`; `("capture_test_frame", request_id, args)`;
  `("reply", request_id, ok, message, data)` answering a relayed command.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)


class ChildLink:
    """A child's end of its pipe, safe to use from several threads."""

    def __init__(self, conn: Connection, heartbeat_s: float = 1.0) -> None:
        self.conn = conn
        self.heartbeat_s = heartbeat_s
        self._lock = threading.Lock()
        self._last_hb = 0.0
        self.stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when children stop

    def send(self, message: tuple) -> None:
        with self._lock:
            try:
                self.conn.send(message)
            except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
                self.stopping.set()  # the supervisor is gone: stop too

    def heartbeat(self, stats: dict[str, Any], force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_hb >= self.heartbeat_s:
            self._last_hb = now
            self.send(("hb", stats))

    def poll(self) -> tuple | None:
        """The next message from the supervisor, or None; ("stop",) when the supervisor is gone."""
        try:
            if self.conn.poll():
                msg = self.conn.recv()
                if msg == ("stop",):
                    self.stopping.set()
                return msg
        except (EOFError, OSError):
            self.stopping.set()
            return ("stop",)
        return None


def setup_child_logging(name: str, verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format=f"%(asctime)s %(levelname)s {name} %(name)s %(message)s",
        force=True,
    )
