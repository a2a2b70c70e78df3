"""The station's uplink to the bridge: an on-disk outbox and an MQTT client that drains it.

from edge.uplink import Outbox, Uplink
uplink = Uplink("ams01", "bridge.example.org", 8883, Outbox("/data/outbox.sqlite"))
uplink.start()
uplink.submit_report(report)   # durable on return; removed only after the broker's PUBACK
"""

from edge.uplink.client import CommandFailed, CommandHandler, TlsConfig, Uplink
from edge.uplink.outbox import OUTBOX_SCHEMA_VERSION, MessageKind, Outbox, OutboxError, OutboxMessage
from edge.uplink.telemetry import collect_telemetry, cpu_temperature_c

__all__ = [
    "OUTBOX_SCHEMA_VERSION",
    "CommandFailed",
    "CommandHandler",
    "MessageKind",
    "Outbox",
    "OutboxError",
    "OutboxMessage",
    "TlsConfig",
    "Uplink",
    "collect_telemetry",
    "cpu_temperature_c",
]
