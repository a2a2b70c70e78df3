"""`skytrail bridge serve`: the bridge as a service on one machine.

With no options: an embedded MQTT broker (amqtt) on loopback, a SQLite database, ingest of every
station's messages, and solving of each event once its reports have settled. With options: an
external broker (Mosquitto) and PostgreSQL. The REST API and web pages come with the service's
next part; until then the database is the interface.
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
    log.info("event=bridge_serving broker=%s:%s db=%s settle_s=%s", host, port, args.db, args.settle)
    print(
        f"skytrail bridge: listening for stations on mqtt://{host}:{port}, storing in {args.db}", flush=True
    )
    try:
        stop.wait(args.duration)
    finally:
        mqtt.stop()
        ingestor.stop()
        if broker is not None:
            broker.stop()
    log.info("event=bridge_stopped stats=%s", ingestor.stats())
    return 0
