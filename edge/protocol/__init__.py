"""The wire contract between station and bridge: message models, topics, codec, JSON Schemas.

Pydantic and the standard library only; `cloud_bridge` imports this package, never the other way.

    from edge.protocol import ObservationReport, obs_topic, encode_message, decode_message
    payload = encode_message(report)                  # compact UTF-8 JSON
    message = decode_message(obs_topic("ams01"), payload)   # ProtocolError(field, reason) if bad
"""

from edge.protocol.codec import MAX_PAYLOAD_BYTES, decode_message, decode_payload, encode_message
from edge.protocol.errors import ProtocolError
from edge.protocol.models import (
    SCHEMA_VERSION,
    SUPPORTED_SCHEMA_VERSIONS,
    AircraftMatch,
    CameraModelSpec,
    CameraState,
    CameraStatus,
    CameraTelemetry,
    Classification,
    ClassLabel,
    Command,
    CommandKind,
    CommandResult,
    DetectorInfo,
    FrameMeasurement,
    Location,
    ObservationReport,
    PeakPixel,
    Photometry,
    Product,
    ProductKind,
    StationState,
    StationStatus,
    Telemetry,
    TimeQuality,
    TimeSource,
    make_observation_id,
    new_request_id,
)
from edge.protocol.schema import json_schemas
from edge.protocol.topics import (
    BRIDGE_SUBSCRIPTIONS,
    TOPIC_ROOT,
    TOPICS,
    TopicKind,
    TopicSpec,
    WillMessage,
    cmd_result_topic,
    cmd_topic,
    last_will,
    obs_topic,
    parse_topic,
    shared_subscription,
    station_subscriptions,
    status_topic,
    subscription,
    telemetry_topic,
    topic,
    topic_for,
)

__all__ = [
    "BRIDGE_SUBSCRIPTIONS", "MAX_PAYLOAD_BYTES", "SCHEMA_VERSION", "SUPPORTED_SCHEMA_VERSIONS", "TOPICS",
    "TOPIC_ROOT", "AircraftMatch", "CameraModelSpec", "CameraState", "CameraStatus", "CameraTelemetry",
    "ClassLabel", "Classification", "Command", "CommandKind", "CommandResult", "DetectorInfo",
    "FrameMeasurement", "Location", "ObservationReport", "PeakPixel", "Photometry", "Product", "ProductKind",
    "ProtocolError", "StationState", "StationStatus", "Telemetry", "TimeQuality", "TimeSource", "TopicKind",
    "TopicSpec", "WillMessage", "cmd_result_topic", "cmd_topic", "decode_message", "decode_payload",
    "encode_message", "json_schemas", "last_will", "make_observation_id", "new_request_id", "obs_topic",
    "parse_topic", "shared_subscription", "station_subscriptions", "status_topic", "subscription",
    "telemetry_topic", "topic", "topic_for",
]
