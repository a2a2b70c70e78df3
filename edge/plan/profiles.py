"""Camera profiles for the planner: the built-in ones of `edge.camera.profiles` plus the extra ones in
`hardware/profiles.toml` (same field names as `CameraProfile`), so that a new sensor/lens pair can be
planned with before it is added to the station software.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from edge.camera.profiles import PROFILES, CameraProfile

HARDWARE_PROFILES_TOML = Path(__file__).resolve().parents[2] / "hardware" / "profiles.toml"


def load_profiles_toml(path: Path) -> dict[str, CameraProfile]:
    """Profiles from a TOML file of `[name]` tables; a bad entry raises ValueError naming it."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    out = {}
    for name, fields in data.items():
        if not isinstance(fields, dict):
            raise ValueError(f"{path}: [{name}] is not a table")
        try:
            out[name] = CameraProfile(name=name, **fields)
        except TypeError as exc:
            raise ValueError(f"{path}: [{name}]: {exc}") from None
    return out


@cache
def all_profiles() -> dict[str, CameraProfile]:
    """Built-in profiles, then those of hardware/profiles.toml (when the file is there)."""
    out = dict(PROFILES)
    if HARDWARE_PROFILES_TOML.exists():
        for name, prof in load_profiles_toml(HARDWARE_PROFILES_TOML).items():
            out.setdefault(name, prof)
    return out


def resolve_profile(name: str) -> CameraProfile:
    """The profile called `name`; ValueError listing the known names otherwise."""
    profiles = all_profiles()
    try:
        return profiles[name]
    except KeyError:
        raise ValueError(f"unknown camera profile {name!r}; known: {', '.join(sorted(profiles))}") from None
