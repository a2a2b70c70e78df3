"""JSON Schema export: one schema per message, committed copies in sync, samples validate."""

from __future__ import annotations

import json

import pytest

from edge.protocol import encode_message, json_schemas
from edge.protocol.models import MESSAGE_MODELS
from edge.protocol.schema import SCHEMA_DIR, schema_text, write_schemas


def test_one_self_describing_schema_per_message():
    schemas = json_schemas()
    assert set(schemas) == {m.__name__ for m in MESSAGE_MODELS}
    for name, schema in schemas.items():
        assert schema["additionalProperties"] is False, name
        assert schema["required"][0] == "schema_version", name
        assert "station_id" in schema["required"], name
        assert schema["x-skytrail"]["schema_version"] == 1
        for prop, spec in schema["properties"].items():
            assert spec.get("description"), f"{name}.{prop} has no description"
        for part, sub in schema.get("$defs", {}).items():
            for prop, spec in sub.get("properties", {}).items():
                assert spec.get("description"), f"{part}.{prop} has no description"


def test_committed_schemas_are_current(tmp_path):
    written = {p.name for p in write_schemas(tmp_path)}
    committed = {p.name for p in SCHEMA_DIR.glob("*.json")}
    assert committed == written, "regenerate: skytrail protocol schema --out edge/protocol/schemas"
    for name, schema in json_schemas().items():
        on_disk = (SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8")
        assert on_disk == schema_text(schema), (
            f"{name}.json is stale; regenerate: skytrail protocol schema --out edge/protocol/schemas")


def test_samples_validate_against_schemas(messages):
    jsonschema = pytest.importorskip(
        "jsonschema", reason="the jsonschema package is not installed (not a project dependency)")
    schemas = json_schemas()
    for name, message in messages.items():
        schema = schemas[type(message).__name__]
        validator = jsonschema.Draft202012Validator(schema)
        obj = json.loads(encode_message(message))
        assert not list(validator.iter_errors(obj)), name
        for bad in ({**obj, "bogus": 1}, {**obj, "station_id": "NOT OK"}, {**obj, "schema_version": 2},
                    {k: v for k, v in obj.items() if k != "schema_version"}):
            assert list(validator.iter_errors(bad)), (name, bad)
    report = json.loads(encode_message(messages["report-full"]))
    report["frames"][1]["bogus"] = 1
    report["camera_model"]["rotation"][0] = [1.0, 0.0]
    errors = list(jsonschema.Draft202012Validator(schemas["ObservationReport"]).iter_errors(report))
    # the optional camera model is `anyOf [model, null]`, so its error is reported at the model
    assert {tuple(e.absolute_path) for e in errors} == {("frames", 1), ("camera_model",)}
