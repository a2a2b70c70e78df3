"""Message models: round trips, UTC handling, cross-field rules, and the camera-model form."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from edge.protocol import (
    SCHEMA_VERSION,
    CameraModelSpec,
    Classification,
    Command,
    FrameMeasurement,
    ObservationReport,
    ProtocolError,
    TimeQuality,
    decode_payload,
    encode_message,
    make_observation_id,
    new_request_id,
    topic_for,
)
from edge.protocol.topics import MODEL_KINDS

T0 = datetime(2024, 8, 12, 21, 30, 45, 123456, tzinfo=UTC)


def _camera(**changes):
    base = dict(width_px=1280, height_px=720, focal_px=1100.0, cx_px=639.5, cy_px=359.5, k1=-0.1, k2=0.0,
                rotation=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    base.update(changes)
    return CameraModelSpec(**base)


def test_every_message_round_trips_exactly(messages):
    for name, message in messages.items():
        payload = encode_message(message)
        decoded = decode_payload(payload, MODEL_KINDS[type(message)])
        assert decoded == message, name
        assert type(decoded) is type(message), name
        assert encode_message(decoded) == payload, name
        compact = json.dumps(json.loads(payload), separators=(",", ":"), ensure_ascii=False).encode()
        assert len(payload) <= len(compact), name  # no whitespace between tokens


def test_every_part_model_round_trips(report):
    parts = [report.location, report.time_quality, report.camera_model, report.frames[0], report.photometry,
             report.classification, report.aircraft, report.products[0], report.detector]
    for part in parts:
        assert type(part).model_validate_json(part.model_dump_json(), strict=True) == part


def test_round_trip_keeps_microseconds_and_float_bits(report):
    decoded = decode_payload(encode_message(report), "obs")
    assert [f.utc for f in decoded.frames] == [f.utc for f in report.frames]
    assert decoded.frames[1].utc.microsecond == (123456 + 33_333) % 1_000_000
    for a, b in zip(decoded.frames, report.frames, strict=True):
        assert a.x_px.hex() == b.x_px.hex() and a.ra_deg.hex() == b.ra_deg.hex()
    assert decoded.camera_model.rotation == report.camera_model.rotation


def test_schema_version_is_written_and_checked(report):
    assert report.schema_version == SCHEMA_VERSION == 1
    assert encode_message(report).startswith(b'{"schema_version":1,')
    with pytest.raises(ValidationError, match="unsupported schema version 2; this software understands"):
        ObservationReport.model_validate({**report.model_dump(), "schema_version": 2})


def test_utc_offset_zero_is_normalised_and_other_offsets_rejected():
    plus0 = datetime(2024, 1, 1, 0, 0, 0, 5, tzinfo=timezone(timedelta(0)))
    frame = FrameMeasurement(utc=plus0, frame_index=0, x_px=0, y_px=0)
    assert frame.utc.tzinfo is UTC and frame.utc == plus0
    frame = FrameMeasurement(utc="2024-01-01T00:00:00.000005+00:00", frame_index=0, x_px=0, y_px=0)
    assert frame.utc == plus0
    with pytest.raises(ValidationError, match="must be UTC"):
        FrameMeasurement(utc=datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))), frame_index=0,
                         x_px=0, y_px=0)
    with pytest.raises(ValidationError, match="timezone"):
        FrameMeasurement(utc=datetime(2024, 1, 1), frame_index=0, x_px=0, y_px=0)


def test_models_are_frozen_and_forbid_extra(report):
    with pytest.raises(ValidationError):
        report.station_id = "other"
    with pytest.raises(ValidationError, match="extra"):
        TimeQuality(source="ntp", estimated_error_s=0.01, pps_locked=False, colour="red")


def test_non_finite_floats_rejected_in_python_too():
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValidationError, match="finite"):
            FrameMeasurement(utc=T0, frame_index=0, x_px=bad, y_px=0)


def test_camera_rotation_checks():
    _camera()  # identity is fine
    c, s = math.cos(0.3), math.sin(0.3)
    tiny = 1e-8
    _camera(rotation=[[c + tiny, -s, 0], [s, c, 0], [0, 0, 1]])  # within 1e-6
    with pytest.raises(ValidationError, match=r"not orthonormal: max \|R R\^T - I\| = 2e-05"):
        _camera(rotation=[[1 + 1e-5, 0, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ValidationError, match="determinant is -1"):
        _camera(rotation=[[1, 0, 0], [0, 1, 0], [0, 0, -1]])
    with pytest.raises(ValidationError, match="rotation.2"):
        _camera(rotation=[[1, 0, 0], [0, 1, 0], [0, 0]])
    with pytest.raises(ValidationError, match="rotation"):
        _camera(rotation=[[1, 0, 0], [0, 1, 0]])
    with pytest.raises(ValidationError, match="focal_px"):
        _camera(focal_px=0.0)


def test_camera_spec_matches_the_camera_model_dict():
    camera_model = pytest.importorskip("edge.astrometry.camera_model", reason="M3 camera model not built")
    cam = camera_model.CameraModel(
        width_px=1920, height_px=1080, focal_px=1500.0, cx_px=959.5, cy_px=539.5, k1=-0.08, k2=0.004,
        rotation=camera_model.rotation_from_pointing(az_deg=123.0, alt_deg=40.0, roll_deg=5.0),
    )
    d = cam.to_dict()
    spec = CameraModelSpec(**d, fit_residual_arcmin=0.3, n_stars=40)
    assert spec.camera_dict() == d
    again = camera_model.CameraModel.from_dict(spec.camera_dict())
    assert again.to_dict() == d


def test_frame_pairs_and_classification_rules():
    with pytest.raises(ValidationError, match="dec_deg: ra_deg and dec_deg must be given together"):
        FrameMeasurement(utc=T0, frame_index=0, x_px=0, y_px=0, ra_deg=10.0)
    with pytest.raises(ValidationError, match="az_deg"):
        FrameMeasurement(utc=T0, frame_index=0, x_px=0, y_px=0, alt_deg=10.0)
    with pytest.raises(ValidationError, match="ra_deg"):
        FrameMeasurement(utc=T0, frame_index=0, x_px=0, y_px=0, ra_deg=360.0, dec_deg=0.0)
    with pytest.raises(ValidationError, match="reason: required when label is 'unclassified'"):
        Classification(label="unclassified")
    Classification(label="unclassified", reason="classifier model not installed")
    with pytest.raises(ValidationError, match="score: required when label is 'meteor'"):
        Classification(label="meteor")
    with pytest.raises(ValidationError, match="score"):
        Classification(label="meteor", score=1.01)
    with pytest.raises(ValidationError, match="pps_locked: true requires source 'gps-pps'"):
        TimeQuality(source="ntp", estimated_error_s=0.01, pps_locked=True)


def test_command_rules():
    with pytest.raises(ValidationError, match="expires_utc: must be after issued_utc"):
        Command(station_id="ams01", request_id=new_request_id(), kind="restart", issued_utc=T0,
                expires_utc=T0)
    with pytest.raises(ValidationError, match="args.url"):
        Command(station_id="ams01", request_id=new_request_id(), kind="firmware_update", issued_utc=T0)
    with pytest.raises(ValidationError, match="request_id"):
        Command(station_id="ams01", request_id="short", kind="restart", issued_utc=T0)


def test_observation_id_helper():
    oid = make_observation_id("ams01", "cam1", T0, 7)
    assert oid == "ams01-cam1-20240812T213045.123Z-7"
    assert len({make_observation_id("ams01", "cam1", T0, n) for n in range(100)}) == 100
    naive = T0.replace(tzinfo=None)
    for args, field in [(("AMS", "cam1", T0, 0), "station_id"), (("ams01", "cam 1", T0, 0), "camera_id"),
                        (("ams01", "cam1", naive, 0), "utc"), (("ams01", "cam1", T0, -1), "n")]:
        with pytest.raises(ValueError, match=f"^{field}:"):
            make_observation_id(*args)


def test_new_request_ids_are_valid_and_distinct():
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    Command(station_id="ams01", request_id=ids.pop(), kind="restart", issued_utc=T0)


def test_topic_for_each_message(messages):
    assert topic_for(messages["report-full"]) == "skytrail/v1/ams01/obs"
    assert topic_for(messages["result-full"]) == "skytrail/v1/ams01/cmd/result"
    with pytest.raises(TypeError):
        topic_for(messages["report-full"].location)


def test_encode_rejects_non_messages_and_oversize(report_factory):
    with pytest.raises(TypeError):
        encode_message(report_factory().location)
    with pytest.raises(ProtocolError, match="over the maximum") as err:
        encode_message(report_factory(n_frames=5000))
    assert err.value.field == "payload"


def test_a_frame_may_give_sky_position_alone_but_needs_one():
    """Imported data (e.g. CMN/RMS files) has RA/Dec without pixels; a frame with neither is rejected."""
    from edge.protocol import FrameMeasurement

    sky_only = FrameMeasurement(utc=T0, frame_index=0, ra_deg=82.0, dec_deg=33.9)
    assert sky_only.x_px is None
    with pytest.raises(ValidationError, match="needs a position"):
        FrameMeasurement(utc=T0, frame_index=0)
    with pytest.raises(ValidationError, match="x_px and y_px must be given together"):
        FrameMeasurement(utc=T0, frame_index=0, x_px=1.0, ra_deg=82.0, dec_deg=33.9)
