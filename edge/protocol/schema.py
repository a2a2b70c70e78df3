"""JSON Schemas of the message models, for tools and languages that do not use these models.

The schemas come from pydantic (`model_json_schema`, draft 2020-12), one per top-level message,
each with its parts under `$defs` and an `x-skytrail` note of the topic, QoS and retain flag.
Rules a schema cannot express (UTC only, frames strictly increasing, orthonormal rotation,
payload station id equal to the topic's) are stated in the descriptions and enforced by
`edge.protocol.decode_message`. Copies are kept in `edge/protocol/schemas/`; regenerate them with
`skytrail protocol schema --out edge/protocol/schemas`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edge.protocol.codec import MAX_PAYLOAD_BYTES
from edge.protocol.models import SCHEMA_VERSION
from edge.protocol.topics import MODEL_KINDS, TOPIC_ROOT, TOPICS

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR = Path(__file__).with_name("schemas")
"""Where the committed copies of the schemas live."""


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of each top-level message model, keyed by model name (e.g. "ObservationReport")."""
    out: dict[str, dict[str, Any]] = {}
    for model, kind in MODEL_KINDS.items():
        spec = TOPICS[kind]
        schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT}
        schema.update(model.model_json_schema())
        schema["x-skytrail"] = {
            "schema_version": SCHEMA_VERSION,
            "topic": f"{TOPIC_ROOT}/{{station_id}}/{kind.value}",
            "qos": spec.qos,
            "retain": spec.retain,
            "publisher": spec.publisher,
            "max_payload_bytes": MAX_PAYLOAD_BYTES,
        }
        out[model.__name__] = schema
    return out


def schema_text(schema: dict[str, Any]) -> str:
    """The canonical text of a schema file: 2-space indented JSON with a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(out_dir: str | Path) -> list[Path]:
    """Write one `{ModelName}.json` per message model into `out_dir` (created if needed); return the paths."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, schema in json_schemas().items():
        path = directory / f"{name}.json"
        path.write_text(schema_text(schema), encoding="utf-8")
        paths.append(path)
    return paths
