"""The bridge's HTTP service (the real FastAPI app over a SQLite store and a local file store) on a
free loopback port, for the station-side upload and enrolment tests."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from cloud_bridge.api import ApiSettings, create_app
from cloud_bridge.files import LocalFileStore
from cloud_bridge.store import Store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BridgeHttp:
    def __init__(self, workdir: Path):
        self.store = Store(f"sqlite:///{workdir / 'bridge.db'}")
        self.files = LocalFileStore(workdir / "files")
        self.app = create_app(self.store, ApiSettings(), files=self.files)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> BridgeHttp:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "bridge HTTP did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.store.close()
