"""`skytrail bridge serve`: the bridge as a service.

With no options (one machine, the demo): an embedded MQTT broker (amqtt) on loopback, a SQLite
database, a local folder for product files, ingest of every station's messages, solving of each
event once its reports have settled, and one HTTP port (default 127.0.0.1:8000) for the REST API,
the stations' enrolment and uploads, and the web pages; the address is printed at start.

Past one machine, each part points at an existing engine:

    skytrail bridge serve --broker mq.example.org:8883 --mqtt-tls-ca /etc/skytrail/ca.crt \\
        --mqtt-username bridge --mqtt-password-file /etc/skytrail/bridge.mqtt \\
        --mosquitto-passwd-file /etc/mosquitto/skytrail.passwd \\
        --mosquitto-acl-file /etc/mosquitto/skytrail.acl --mosquitto-pid-file /run/mosquitto/mosquitto.pid \\
        --db postgresql+psycopg://skytrail@db/skytrail --files s3://skytrail-products/prod \\
        --s3-endpoint-url https://minio.example.org --http-host 0.0.0.0

or the same keys in a TOML file (`--config bridge.toml`; option names with '_' for '-', e.g.
`broker = "mq.example.org:8883"`); options given on the command line win over the file. API
tokens come from the environment (`SKYTRAIL_API_*`, `cloud_bridge.api.config`); S3 credentials
from boto3's usual places (`AWS_ACCESS_KEY_ID`, ~/.aws, instance role).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
import tomllib
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULTS: dict[str, object] = {
    "db": "sqlite:///skytrail-bridge.db",
    "broker": None,
    "port": 1883,
    "settle": 30.0,
    "mc_runs": 50,
    "duration": None,
    "http_host": "127.0.0.1",
    "http_port": 8000,
    "files": "skytrail-files",
    "s3_endpoint_url": None,
    "mqtt_username": None,
    "mqtt_password_file": None,
    "mqtt_tls_ca": None,
    "mqtt_client_id": "skytrail-bridge",
    "mosquitto_passwd_file": None,
    "mosquitto_acl_file": None,
    "mosquitto_pid_file": None,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    parser.add_argument("--config", type=Path, help="TOML file with any of these options (names with '_')")
    parser.add_argument("--db", default=d["db"], help="SQLAlchemy URL (default: SQLite file)")
    parser.add_argument(
        "--broker", help="HOST:PORT of an external MQTT broker (default: start an embedded one)"
    )
    parser.add_argument(
        "--port", type=int, default=d["port"], help="port of the embedded broker (default 1883)"
    )
    parser.add_argument(
        "--settle", type=float, default=d["settle"], help="seconds without new reports before solving"
    )
    parser.add_argument("--mc-runs", type=int, default=d["mc_runs"])
    parser.add_argument(
        "--duration", type=float, help="stop after this many seconds (default: until stopped)"
    )
    parser.add_argument("--http-host", default=d["http_host"], help="address of the HTTP service (127.0.0.1)")
    parser.add_argument(
        "--http-port",
        "--api-port",
        dest="http_port",
        type=int,
        default=d["http_port"],
        help="port of the HTTP service: API, uploads, web pages (default 8000)",
    )
    parser.add_argument(
        "--files", default=d["files"], help="product files: a folder, or s3://BUCKET[/PREFIX]"
    )
    parser.add_argument("--s3-endpoint-url", help="S3-compatible server for --files s3://... (default: AWS)")
    parser.add_argument("--mqtt-username", help="the bridge's own MQTT user at the external broker")
    parser.add_argument("--mqtt-password-file", type=Path, help="file holding that user's password")
    parser.add_argument("--mqtt-tls-ca", type=Path, help="CA certificate: connect to the broker over TLS")
    parser.add_argument(
        "--mqtt-client-id", default=d["mqtt_client_id"], help="MQTT client id (skytrail-bridge)"
    )
    parser.add_argument(
        "--mosquitto-passwd-file", type=Path, help="Mosquitto password_file the bridge writes"
    )
    parser.add_argument("--mosquitto-acl-file", type=Path, help="Mosquitto acl_file the bridge writes")
    parser.add_argument(
        "--mosquitto-pid-file", type=Path, help="Mosquitto's pid_file: SIGHUP it after changes"
    )


def apply_config_file(args: argparse.Namespace) -> argparse.Namespace:
    """Fill options left at their defaults from `--config` (TOML); unknown keys are an error."""
    if getattr(args, "config", None) is None:
        return args
    data = tomllib.loads(Path(args.config).read_text())
    unknown = sorted(set(data) - set(DEFAULTS))
    if unknown:
        raise ValueError(
            f"{args.config}: unknown option(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}"
        )
    for key, value in data.items():
        if getattr(args, key, None) == DEFAULTS[key]:
            path_like = key.endswith("_file") or key == "mqtt_tls_ca"
            setattr(args, key, Path(value) if path_like and value is not None else value)
    return args


def serve(args: argparse.Namespace) -> int:
    # imported here so that `skytrail --help` does not load the broker and the database
    from cloud_bridge.broker import EmbeddedBroker
    from cloud_bridge.files import open_file_store
    from cloud_bridge.ingest.ingestor import Ingestor
    from cloud_bridge.ingest.mqtt import MqttIngest
    from cloud_bridge.store.store import Store

    args = apply_config_file(args)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    password = args.mqtt_password_file.read_text().strip() if args.mqtt_password_file else None
    broker = None
    if args.broker:
        host, _, port = args.broker.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--broker: expected HOST:PORT, got {args.broker!r}")
    else:
        broker = EmbeddedBroker(port=args.port).start()
        host, port = broker.host, str(broker.port)
    store = Store(args.db)
    files = open_file_store(args.files, endpoint_url=args.s3_endpoint_url)
    mosquitto = make_mosquitto_auth(args, password)
    if mosquitto is not None:
        mosquitto.sync(store)
    ingestor = Ingestor(store, settle_s=args.settle, mc_runs=args.mc_runs).start()
    mqtt = MqttIngest(
        ingestor,
        host,
        int(port),
        client_id=args.mqtt_client_id,
        username=args.mqtt_username,
        password=password,
        tls_ca_file=str(args.mqtt_tls_ca) if args.mqtt_tls_ca else None,
    ).start()
    http = start_http(
        store,
        args.http_host,
        args.http_port,
        files=files,
        publisher=mqtt.publish,
        ingestor=ingestor,
        mosquitto=mosquitto,
    )
    scheme = "mqtts" if args.mqtt_tls_ca else "mqtt"
    web = f"http://{args.http_host}:{args.http_port}/"
    log.info(
        "event=bridge_serving broker=%s:%s db=%s files=%s http=%s settle_s=%s",
        host,
        port,
        store.engine.url.render_as_string(hide_password=True),
        files.url,
        web,
        args.settle,
    )
    print(
        f"skytrail bridge: listening for stations on {scheme}://{host}:{port}, storing in "
        f"{store.engine.url.render_as_string(hide_password=True)}, files in {files.url}",
        flush=True,
    )
    print(f"skytrail bridge: web pages and API at {web} (API docs at {web}docs)", flush=True)
    try:
        stop.wait(args.duration)
    finally:
        http.should_exit = True
        mqtt.stop()
        ingestor.stop()
        if broker is not None:
            broker.stop()
    log.info("event=bridge_stopped stats=%s", ingestor.stats())
    return 0


def make_mosquitto_auth(args: argparse.Namespace, bridge_password: str | None):
    """The Mosquitto password/ACL writer when both files are configured, else None."""
    if not (args.mosquitto_passwd_file or args.mosquitto_acl_file):
        return None
    if not (args.mosquitto_passwd_file and args.mosquitto_acl_file):
        raise ValueError("--mosquitto-passwd-file and --mosquitto-acl-file go together")
    if not (args.mqtt_username and bridge_password):
        raise ValueError(
            "writing Mosquitto's files needs the bridge's own --mqtt-username and --mqtt-password-file"
        )
    from cloud_bridge.fleet.mosquitto import MosquittoAuth, hash_password

    return MosquittoAuth(
        args.mosquitto_passwd_file,
        args.mosquitto_acl_file,
        bridge_username=args.mqtt_username,
        bridge_password_hash=hash_password(bridge_password, args.mqtt_username),
        pid_file=args.mosquitto_pid_file,
    )


def start_http(store, host: str, port: int, **app_options):
    """The HTTP service (settings from the environment: SKYTRAIL_API_*) served by uvicorn in a thread;
    returns once it listens."""
    import uvicorn

    from cloud_bridge.api import ApiSettings, create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(store, ApiSettings.from_env(), **app_options),
            host=host,
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, name="http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the HTTP service could not start on {host}:{port}")
        time.sleep(0.05)
    return server


def start_api(store, port: int):
    """The HTTP service on a loopback port (kept for callers of the earlier name)."""
    return start_http(store, "127.0.0.1", port)
