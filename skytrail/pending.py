"""Command groups whose capability has not been built yet: they say so instead of pretending."""

from __future__ import annotations

import argparse

PLANNED = {
    "station": "the station runtime (capture, detection, uplink)",
}


def register(parser: argparse.ArgumentParser, name: str) -> None:
    parser.description = (
        f"{parser.description}. Not available in this version: {PLANNED[name]} is not built yet."
    )

    def refuse(args: argparse.Namespace) -> int:
        parser.error(f"'{name}' is not available in this version: {PLANNED[name]} is not built yet")

    parser.set_defaults(func=refuse)
