"""Make a camera backend from a config mapping (one `[[camera]]` table of the station config).

`open_camera({"kind": "sim", ...})` returns an unopened `CameraBackend` (use it as a context
manager, or call `open()`); the other keys are the backend's constructor arguments:

- `sim`: `night` (an `edge.sim.night.NightConfig` mapping), `speed`, `shift_to_now`
- `replay`: `path`, `speed`, `loop`, `shift_to_now`
- `v4l2`: `device`, `width_px`, `height_px`, `pixel_format`, `fps`, `exposure_s`, `gain`,
  `gain_unity`, `latency_s`, `latency_error_s`, `buffers`
- `genicam`: `cti`, `device`, `width_px`, `height_px`, `fps`, `exposure_s`, `gain`, `latency_s`,
  `latency_error_s`, `fetch_timeout_s`
- `picamera2`: `camera_num`, `width_px`, `height_px`, `fps`, `exposure_s`, `gain`,
  `buffer_count`, `timestamp_offset_s`, `timestamp_error_s`

Unknown kinds or keys, and optional libraries that are not installed, raise `CameraError`
saying what to change or which extra to install.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping

from edge.camera.backend import CameraBackend, CameraError, TimeQualityProvider

# kind -> (module, class, library the backend needs, how to get it)
BACKENDS: dict[str, tuple[str, str, str | None, str | None]] = {
    "sim": ("edge.camera.sim", "SimulatedCamera", None, None),
    "replay": ("edge.camera.replay", "ReplayCamera", None, None),
    "v4l2": ("edge.camera.v4l2", "V4L2Camera", "linuxpy", "pip install 'skytrail[hardware]' (linuxpy)"),
    "genicam": (
        "edge.camera.genicam",
        "GenICamCamera",
        "harvesters",
        "pip install 'skytrail[hardware]' (harvesters, genicam)",
    ),
    "picamera2": (
        "edge.camera.picamera2",
        "Picamera2Camera",
        "picamera2",
        "on Raspberry Pi OS: apt install python3-picamera2 and a venv made with --system-site-packages",
    ),
}
PRIVATE_ARGS = {"self", "time_quality", "clocks"}


def open_camera(config: Mapping, time_quality: TimeQualityProvider | None = None) -> CameraBackend:
    """An unopened camera of `config["kind"]` built from the other keys (see the module docstring)."""
    if not isinstance(config, Mapping):
        raise CameraError(f"camera config: expected a mapping with a 'kind', got {type(config).__name__}")
    args = dict(config)
    kind = args.pop("kind", None)
    if kind not in BACKENDS:
        raise CameraError(f"camera config: unknown kind {kind!r}; known kinds: {', '.join(BACKENDS)}")
    module_name, class_name, library, hint = BACKENDS[kind]
    if library is not None:
        try:
            importlib.import_module(library)
        except ImportError as exc:
            raise CameraError(f"camera kind {kind!r} needs '{library}', which is missing: {hint}") from exc
    cls = getattr(importlib.import_module(module_name), class_name)
    allowed = set(inspect.signature(cls.__init__).parameters) - PRIVATE_ARGS
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise CameraError(
            f"camera config ({kind}): unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    try:
        return cls(**args, time_quality=time_quality)
    except TypeError as exc:
        raise CameraError(f"camera config ({kind}): {exc}") from exc
