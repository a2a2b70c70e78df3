"""An embedded amqtt broker for the uplink tests: `python uplink_amqtt_broker.py PORT [LEDGER]`.

Listens on 127.0.0.1:PORT (MQTT 3.1.1, anonymous). With LEDGER, a plugin appends every
PUBLISH the broker receives (topic, payload as hex) to that JSON-lines file: the record of
what reached the broker, which survives the broker's restarts (amqtt keeps nothing on disk).
SIGTERM shuts the broker down cleanly. Prints READY once listening.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from dataclasses import dataclass
from typing import Any

from amqtt.broker import Broker
from amqtt.plugins.base import BasePlugin


class LedgerPlugin(BasePlugin):  # type: ignore[type-arg]
    """Appends each received message to the ledger file (one JSON object per line)."""

    @dataclass
    class Config:
        path: str = ""

    async def on_broker_message_received(self, *, client_id: str, message: Any) -> None:
        if message is None or not self.config.path:
            return
        line = json.dumps(
            {"client_id": client_id, "topic": message.topic, "payload": bytes(message.data).hex()}
        )
        with open(self.config.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


async def main(port: int, ledger: str) -> None:
    plugins: dict[str, Any] = {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
    if ledger:
        plugins["__main__.LedgerPlugin"] = {"path": ledger}
    config = {"listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}}, "plugins": plugins}
    broker = Broker(config)
    await broker.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("READY", flush=True)
    await stop.wait()
    await broker.shutdown()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else ""))
