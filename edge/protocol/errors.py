"""Errors of the wire contract: one exception that names the field and the problem.

Every rejection of a message, whatever its cause (size, encoding, JSON, schema version, model,
topic), ends as a `ProtocolError`, so the bridge can log `field` and `reason` and count them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Path = tuple[str | int, ...]


def format_path(path: Sequence[str | int]) -> str:
    """Write a location inside a message as `frames[3].utc` (keys dotted, list indices bracketed)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class ProtocolError(ValueError):
    """A message or topic that breaks the wire contract.

    `field` is the path of the offending field (`frames[3].utc`, `schema_version`, `topic`,
    `payload` for problems with the bytes as a whole); `reason` says what is wrong with it.
    `problems` lists every (field, reason) found, the first being `field`/`reason`.
    """

    def __init__(self, field: str, reason: str, problems: Iterable[tuple[str, str]] | None = None):
        self.field = field
        self.reason = reason
        self.problems: list[tuple[str, str]] = list(problems) if problems else [(field, reason)]
        message = f"{field}: {reason}"
        others = self.problems[1:]
        if others:
            shown = "; ".join(f"{f}: {r}" for f, r in others[:5])
            more = f" (and {len(others) - 5} more)" if len(others) > 5 else ""
            message += f" [also: {shown}{more}]"
        super().__init__(message)


class FieldProblem(ValueError):
    """Raised by model validators for a cross-field problem at `path`, relative to the model.

    Pydantic wraps it in a ValidationError; the codec then joins the model's location and `path`
    so the ProtocolError names the exact field (`frames[3].utc`), not just the model.
    """

    def __init__(self, path: Path, reason: str):
        self.path = tuple(path)
        self.reason = reason
        super().__init__(f"{format_path(self.path)}: {reason}" if self.path else reason)
