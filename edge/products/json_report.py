"""The event's JSON product: the wire contract's `ObservationReport` (edge.protocol), as sent to the bridge.

`edge.process` builds the report from the detector's event, the astrometric calibration and the
photometry; this module writes it (UTF-8 JSON, the codec's encoding) and reads it back into an
equal `ObservationReport`, with the contract's validation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from edge.protocol import ObservationReport, ProtocolError, decode_payload, encode_message
from edge.protocol.models import Product, ProductKind


def write_report(path: str | Path, report: ObservationReport) -> Path:
    """Write the report as UTF-8 JSON (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(encode_message(report))
    tmp.replace(path)
    return path


def read_report(path: str | Path) -> ObservationReport:
    """The report in `path`; ValueError naming the file and the field when it does not validate."""
    path = Path(path)
    try:
        message = decode_payload(path.read_bytes(), "obs")
    except ProtocolError as exc:
        raise ValueError(f"{path}: not a valid observation report: {exc}") from exc
    if not isinstance(message, ObservationReport):
        raise ValueError(f"{path}: holds a {type(message).__name__}, not an ObservationReport")
    return message


def describe_product(path: str | Path, kind: ProductKind) -> Product:
    """The `Product` entry (name, SHA-256, size) of a file written for the event."""
    path = Path(path)
    data = path.read_bytes()
    return Product(kind=kind, name=path.name, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
