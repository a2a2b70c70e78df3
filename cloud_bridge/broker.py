"""The embedded MQTT broker of the single-machine bridge: amqtt (MQTT 3.1.1) in a thread of its own.

`skytrail bridge serve` with no configuration starts one on a loopback port so that stations on the
same machine (the demo) or the local network can publish without installing Mosquitto. Past one
machine the bridge connects to an external broker instead (ARCHITECTURE.md, "Growing past one
machine"); nothing else in the bridge depends on which broker it is.

    with EmbeddedBroker(port=0) as broker:      # port 0: any free port, read back from .port
        ...  # paho clients connect to broker.host, broker.port
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1883


class BrokerStartError(RuntimeError):
    """The embedded broker could not start (port in use, bad address, ...)."""


class EmbeddedBroker:
    """An amqtt broker running its own asyncio loop in a daemon thread.

    host: address to listen on (loopback by default; "0.0.0.0" to take stations from the network).
    port: TCP port; 0 picks a free one, available as `.port` once started.
    allow_anonymous: accept clients without credentials (the single-machine default).
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, allow_anonymous: bool = True):
        self.host = host
        self.port = int(port)
        self.allow_anonymous = allow_anonymous
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": self.allow_anonymous},
            },
        }

    def _run(self) -> None:
        from amqtt.broker import Broker

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)

        async def start() -> None:
            self._broker = Broker(self._config(), loop=loop)
            await self._broker.start()
            server = self._broker._servers["default"].instance  # amqtt keeps the asyncio.Server here
            self.port = int(server.sockets[0].getsockname()[1])

        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # reported to start()'s caller
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def start(self, timeout_s: float = 30.0) -> EmbeddedBroker:
        """Start listening; return once clients can connect. Raise BrokerStartError if it cannot."""
        if self._thread is not None:
            raise RuntimeError("the embedded broker is already started")
        self._thread = threading.Thread(target=self._run, name="skytrail-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise BrokerStartError(f"the embedded MQTT broker did not start within {timeout_s} s")
        if self._error is not None:
            self._thread = None
            raise BrokerStartError(
                f"the embedded MQTT broker could not listen on {self.host}:{self.port}: {self._error}"
            ) from self._error
        log.info("event=broker_started host=%s port=%d", self.host, self.port)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Disconnect every client and stop the broker's loop and thread (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._broker is not None and not loop.is_closed():
            future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), loop)
            try:
                future.result(timeout_s)
            except Exception as exc:  # a broker that fails to shut down cleanly is still stopped below
                log.warning("event=broker_shutdown_error error=%r", exc)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)
        self._thread = None
        self._loop = None
        log.info("event=broker_stopped host=%s port=%d", self.host, self.port)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
