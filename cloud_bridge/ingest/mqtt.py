"""The bridge's MQTT subscriber: the stations' topics (`edge.protocol.BRIDGE_SUBSCRIPTIONS`) into an
`Ingestor`, with paho-mqtt 2.x.

Works with the embedded amqtt broker (MQTT 3.1.1, `cloud_bridge.broker`) and with Mosquitto
(credentials, TLS). With `share_group` the filters become shared subscriptions
(`$share/{group}/...`), so several bridge workers split the messages (Mosquitto 2; amqtt has none).
The session is persistent (clean_session False, fixed client id): QoS 1 reports sent while the
bridge was away are delivered when it reconnects, and paho acknowledges a message only after
`on_message` (which stores it) returns.
"""

from __future__ import annotations

import logging
import ssl
import threading
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cloud_bridge.ingest.ingestor import Ingestor
from edge.protocol import BRIDGE_SUBSCRIPTIONS, shared_subscription

log = logging.getLogger(__name__)


class MqttIngest:
    """Subscribes to every station's status, telemetry, obs and cmd/result topics and feeds `ingestor`."""

    def __init__(
        self,
        ingestor: Ingestor,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        client_id: str = "skytrail-bridge",
        share_group: str | None = None,
        username: str | None = None,
        password: str | None = None,
        tls_ca_file: str | None = None,
        keepalive_s: int = 30,
    ):
        self.ingestor = ingestor
        self.host, self.port, self.keepalive_s = host, int(port), int(keepalive_s)
        self.subscriptions = [
            (shared_subscription(f, share_group) if share_group else f, qos)
            for f, qos in BRIDGE_SUBSCRIPTIONS
        ]
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls_ca_file is not None:
            self.client.tls_set(ca_certs=tls_ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    def _on_connect(self, client: mqtt.Client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.error(
                "event=mqtt_connect_failed host=%s port=%d reason=%s", self.host, self.port, reason_code
            )
            return
        log.info("event=mqtt_connected host=%s port=%d", self.host, self.port)
        client.subscribe(self.subscriptions)

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties) -> None:
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("event=mqtt_subscribe_failed reasons=%s", ",".join(failed))
            return
        self.subscribed.set()

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self.subscribed.clear()
        log.warning("event=mqtt_disconnected host=%s port=%d reason=%s", self.host, self.port, reason_code)

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # a topic that is not UTF-8 cannot be one of ours
            topic = message._topic.decode("utf-8", "replace")
        self.ingestor.handle(topic, message.payload, datetime.now(UTC))

    def publish(self, topic: str, payload: bytes, timeout_s: float = 10.0) -> None:
        """Publish a bridge message (a fleet command) at QoS 1 and wait for the broker's PUBACK;
        ConnectionError when the bridge is not connected or the broker does not acknowledge it."""
        if not self.client.is_connected():
            raise ConnectionError(f"not connected to the MQTT broker at {self.host}:{self.port}")
        info = self.client.publish(topic, payload, qos=1, retain=False)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"publish on {topic} failed: {mqtt.error_string(info.rc)}")
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise ConnectionError(f"publish on {topic} failed: {exc}") from exc
        if not info.is_published():
            raise ConnectionError(f"no acknowledgement from the broker for {topic} within {timeout_s} s")

    def start(self, timeout_s: float = 30.0) -> MqttIngest:
        """Connect, subscribe and return once subscribed; messages are handled on paho's thread."""
        self.client.connect(self.host, self.port, keepalive=self.keepalive_s)
        self.client.loop_start()
        if not self.subscribed.wait(timeout_s):
            self.stop()
            raise ConnectionError(
                f"not subscribed to the MQTT broker at {self.host}:{self.port} within {timeout_s} s"
            )
        return self

    def stop(self) -> None:
        """Disconnect and stop paho's network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> MqttIngest:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
