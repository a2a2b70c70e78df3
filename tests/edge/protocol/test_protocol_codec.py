"""decode_message: every kind of bad input raises ProtocolError naming the right field."""

from __future__ import annotations

import json

import pytest

from edge.protocol import (
    MAX_PAYLOAD_BYTES,
    Command,
    CommandResult,
    ObservationReport,
    ProtocolError,
    StationStatus,
    Telemetry,
    decode_message,
    decode_payload,
    encode_message,
)

OBS = "skytrail/v1/ams01/obs"


def _obj(message) -> dict:
    return json.loads(encode_message(message))


def _reject(obj_or_bytes, topic: str = OBS) -> ProtocolError:
    payload = obj_or_bytes if isinstance(obj_or_bytes, bytes) else json.dumps(obj_or_bytes).encode()
    with pytest.raises(ProtocolError) as err:
        decode_message(topic, payload)
    assert isinstance(err.value, ValueError)
    assert str(err.value).startswith(f"{err.value.field}: {err.value.reason}")
    return err.value


def test_each_topic_decodes_to_its_model(messages):
    topics = {"report-full": ("obs", ObservationReport), "status-full": ("status", StationStatus),
              "telemetry-full": ("telemetry", Telemetry), "command-full": ("cmd", Command),
              "result-full": ("cmd/result", CommandResult)}
    for name, (kind, model) in topics.items():
        decoded = decode_message(f"skytrail/v1/ams01/{kind}", encode_message(messages[name]))
        assert type(decoded) is model
    # a valid payload on the wrong kind of topic is rejected by that topic's model
    err = _reject(encode_message(messages["status-full"]), "skytrail/v1/ams01/telemetry")
    assert err.field in {"state", "software_version", "utc", "cpu_percent"}


@pytest.mark.parametrize("version, reason", [
    (2, "unsupported schema version 2; this software understands version(s) 1"),
    (0, "unsupported schema version 0"),
    ("1", "must be an integer schema version"),
    (True, "must be an integer schema version"),
    (1.0, "must be an integer schema version"),
])
def test_wrong_schema_version(report, version, reason):
    obj = _obj(report)
    obj["schema_version"] = version
    err = _reject(obj)
    assert err.field == "schema_version" and reason in err.reason


def test_missing_schema_version(report):
    obj = _obj(report)
    del obj["schema_version"]
    err = _reject(obj)
    assert err.field == "schema_version" and "missing" in err.reason
    assert "understands version(s) 1" in err.reason


def test_version_checked_before_the_model(report):
    obj = _obj(report)
    obj["schema_version"] = 2
    obj["new_field_of_v2"] = {"x": 1}
    assert _reject(obj).field == "schema_version"


@pytest.mark.parametrize("where, field", [
    ((), "bogus"), (("frames", 1), "frames[1].bogus"), (("location",), "location.bogus"),
    (("camera_model",), "camera_model.bogus"), (("products", 1), "products[1].bogus"),
])
def test_extra_field(report, where, field):
    obj = _obj(report)
    target = obj
    for key in where:
        target = target[key]
    target["bogus"] = 1
    err = _reject(obj)
    assert err.field == field and "unknown field" in err.reason


@pytest.mark.parametrize("station", ["A", "AMS01", "-ams", "ams_01", "a" * 33, "", "ams 01"])
def test_bad_station_id_in_payload(report, station):
    obj = _obj(report)
    obj["station_id"] = station
    assert _reject(obj).field == "station_id"


def test_payload_topic_station_mismatch(report):
    err = _reject(encode_message(report), "skytrail/v1/ams02/obs")
    assert err.field == "station_id"
    assert "'ams01' does not match the topic's station 'ams02'" in err.reason


def test_observation_id_must_carry_station(report):
    obj = _obj(report)
    obj["observation_id"] = "zzz-cam1-1"
    err = _reject(obj)
    assert err.field == "observation_id" and "ams01-" in err.reason


@pytest.mark.parametrize("utc, reason", [
    ("2024-08-12T21:30:45.200000", "timezone"),
    ("2024-08-12T23:30:45.200000+02:00", "must be UTC"),
    ("yesterday", "datetime"),
    (1723498245.2, "datetime"),
])
def test_bad_frame_time(report, utc, reason):
    obj = _obj(report)
    obj["frames"][3]["utc"] = utc
    err = _reject(obj)
    assert err.field == "frames[3].utc" and reason in err.reason


def test_non_monotonic_frames(report):
    obj = _obj(report)
    obj["frames"][3]["utc"] = obj["frames"][2]["utc"]
    err = _reject(obj)
    assert str(err).startswith("frames[3].utc: must be after frames[2].utc")
    obj = _obj(report)
    obj["frames"][4]["frame_index"] = obj["frames"][3]["frame_index"]
    err = _reject(obj)
    assert err.field == "frames[4].frame_index" and "greater than frames[3].frame_index" in err.reason


def test_too_few_frames(report):
    obj = _obj(report)
    obj["frames"] = obj["frames"][:1]
    assert _reject(obj).field == "frames"


@pytest.mark.parametrize("token, path, field", [
    ("NaN", ("frames", 2, "x_px"), "frames[2].x_px"),
    ("Infinity", ("location", "height_m"), "location.height_m"),
    ("-Infinity", ("camera_model", "rotation", 1, 2), "camera_model.rotation[1][2]"),
])
def test_non_finite_numbers(report, token, path, field):
    obj = _obj(report)
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "__MARK__"
    payload = json.dumps(obj).replace('"__MARK__"', token).encode()
    err = _reject(payload)
    assert err.field == field and "not a finite number" in err.reason


def test_nan_inside_free_form_args(messages):
    obj = _obj(messages["command-full"])
    payload = json.dumps(obj).replace('"list": [1, 2.5', '"list": [1, NaN').encode()
    err = _reject(payload, "skytrail/v1/ams01/cmd")
    assert err.field == "args.nested.list[1]"


def test_strict_types(report):
    obj = _obj(report)
    obj["frames"][0]["x_px"] = "640.25"
    assert _reject(obj).field == "frames[0].x_px"
    obj = _obj(report)
    obj["frames"][0]["frame_index"] = 100.0
    assert _reject(obj).field == "frames[0].frame_index"
    obj = _obj(report)
    obj["refraction_applied"] = "true"
    assert _reject(obj).field == "refraction_applied"
    obj = _obj(report)
    obj["frames"][0]["x_px"] = 640  # an integer is a valid JSON number for a float field
    assert decode_message(OBS, json.dumps(obj).encode()).frames[0].x_px == 640.0


def test_out_of_range_and_enum(report):
    obj = _obj(report)
    obj["location"]["lat_deg"] = 90.5
    assert _reject(obj).field == "location.lat_deg"
    obj = _obj(report)
    obj["classification"]["label"] = "ufo"
    assert _reject(obj).field == "classification.label"
    obj = _obj(report)
    obj["time_quality"]["source"] = "sundial"
    assert _reject(obj).field == "time_quality.source"


def test_all_problems_are_listed(report):
    obj = _obj(report)
    obj["location"]["lat_deg"] = 100
    obj["frames"][1]["y_px"] = "x"
    obj["extra"] = 1
    err = _reject(obj)
    fields = [f for f, _ in err.problems]
    assert fields == ["location.lat_deg", "frames[1].y_px", "extra"]
    assert "frames[1].y_px" in str(err) and "extra" in str(err)


def test_oversized_payload(report):
    payload = encode_message(report)
    padded = payload + b" " * (MAX_PAYLOAD_BYTES - len(payload))
    assert len(padded) == MAX_PAYLOAD_BYTES
    assert decode_message(OBS, padded) == report  # exactly the maximum is accepted
    err = _reject(padded + b" ")
    assert err.field == "payload" and f"{MAX_PAYLOAD_BYTES + 1} bytes exceeds" in err.reason


def test_invalid_utf8(report):
    payload = encode_message(report).replace(b'"cam1"', b'"cam\xff"', 1)
    err = _reject(payload)
    assert err.field == "payload" and "UTF-8" in err.reason


@pytest.mark.parametrize("payload, reason", [
    (b"", "not JSON"), (b"{", "not JSON"), (b"{'a': 1}", "not JSON"), (b"[1, 2]", "JSON object"),
    (b'"text"', "JSON object"), (b"null", "JSON object"), (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_not_json(payload, reason):
    err = _reject(payload)
    assert err.field == "payload" and reason in err.reason


def test_bad_topic_is_a_protocol_error(report):
    err = _reject(encode_message(report), "skytrail/v1/ams01/unknown")
    assert err.field == "topic"


def test_decode_payload_by_kind(report):
    assert decode_payload(encode_message(report), "obs") == report
    assert decode_payload(encode_message(report).decode(), "obs") == report  # str is accepted too
    with pytest.raises(ProtocolError) as err:
        decode_payload(encode_message(report), "nope")
    assert err.value.field == "kind"
