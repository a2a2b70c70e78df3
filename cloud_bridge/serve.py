"""`skytrail bridge serve`: the bridge as a service on one machine.

With no options: an embedded MQTT broker (amqtt) on loopback, a SQLite database, ingest of every
station's messages, and solving of each event once its reports have settled. With options: an
external broker (Mosquitto), PostgreSQL, and the REST API (`--api-port`). Web pages are to come.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", default="sqlite:///skytrail-bridge.db", help="SQLAlchemy URL (default: SQLite file)"
    )
    parser.add_argument(
        "--broker", help="HOST:PORT of an external MQTT broker (default: start an embedded one)"
    )
    parser.add_argument("--port", type=int, default=1883, help="port of the embedded broker (default 1883)")
    parser.add_argument(
        "--settle", type=float, default=30.0, help="seconds without new reports before solving"
    )
    parser.add_argument("--mc-runs", type=int, default=50)
    parser.add_argument(
        "--duration", type=float, help="stop after this many seconds (default: until stopped)"
    )
    parser.add_argument("--api-port", type=int, help="serve the REST API on this loopback port")


def serve(args: argparse.Namespace) -> int:
    # imported here so that `skytrail --help` does not load the broker and the database
    from cloud_bridge.broker import EmbeddedBroker
    from cloud_bridge.ingest.ingestor import Ingestor
    from cloud_bridge.ingest.mqtt import MqttIngest
    from cloud_bridge.store.store import Store

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    broker = None
    if args.broker:
        host, _, port = args.broker.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--broker: expected HOST:PORT, got {args.broker!r}")
    else:
        broker = EmbeddedBroker(port=args.port).start()
        host, port = broker.host, str(broker.port)
    store = Store(args.db)
    ingestor = Ingestor(store, settle_s=args.settle, mc_runs=args.mc_runs).start()
    mqtt = MqttIngest(ingestor, host, int(port)).start()
    api = start_api(store, args.api_port) if args.api_port else None
    log.info("event=bridge_serving broker=%s:%s db=%s settle_s=%s", host, port, args.db, args.settle)
    print(
        f"skytrail bridge: listening for stations on mqtt://{host}:{port}, storing in {args.db}", flush=True
    )
    try:
        stop.wait(args.duration)
    finally:
        if api is not None:
            api.should_exit = True
        mqtt.stop()
        ingestor.stop()
        if broker is not None:
            broker.stop()
    log.info("event=bridge_stopped stats=%s", ingestor.stats())
    return 0


def start_api(store, port: int):
    """The REST API (settings from the environment: SKYTRAIL_API_*) served by uvicorn in a thread."""
    import uvicorn

    from cloud_bridge.api import ApiSettings, create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(store, ApiSettings.from_env()), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    threading.Thread(target=server.run, name="api", daemon=True).start()
    return server
