"""The local web page's process: `edge.web.create_app(data_dir, config_path)` served by uvicorn on
`[web] host:port`, with heartbeats to the supervisor from a side thread. Where `edge.web` has no
`create_app` (a build without the web page) the process stays up, says so in its heartbeat, and
serves nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from edge.station.config import load_config
from edge.station.link import ChildLink, setup_child_logging

log = logging.getLogger(__name__)


def run_web(config_path: str, conn: Connection, verbose: bool = False) -> None:
    setup_child_logging("web", verbose)
    link = ChildLink(conn)
    cfg = load_config(config_path)
    try:
        import uvicorn

        from edge.web import create_app
    except ImportError as exc:
        log.warning("web event=absent reason=%s", exc)
        while not link.stopping.is_set():
            link.poll()
            link.heartbeat({"state": "absent", "message": f"local web page not available: {exc}"[:300]})
            time.sleep(0.2)
        return
    app = create_app(Path(cfg.data_dir), Path(config_path))
    server = uvicorn.Server(uvicorn.Config(app, host=cfg.web.host, port=cfg.web.port, log_level="warning"))

    def beat() -> None:
        while not server.should_exit:
            link.poll()
            if link.stopping.is_set():
                server.should_exit = True
            link.heartbeat(
                {
                    "state": "ok" if server.started else "starting",
                    "message": f"http://{cfg.web.host}:{cfg.web.port}/",
                }
            )
            time.sleep(0.2)

    threading.Thread(target=beat, name="web-heartbeat", daemon=True).start()
    server.run()
