"""Station health figures for the `Telemetry` message: CPU, memory, disk, temperature.

Reads the machine through `psutil` (PyPI `psutil`); the station supplies what only it knows
(time quality from gpsd/chrony, per-camera counters, queue depth) and the uplink its outbox
depth. Temperature is the hottest CPU/SoC sensor psutil reports, or None where there is none
(containers, most VMs) rather than a made-up value.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime

import psutil

from edge.protocol import CameraTelemetry, Telemetry, TimeQuality, TimeSource

UNMEASURED_TIME_QUALITY = TimeQuality(
    source=TimeSource.FREE_RUNNING,
    estimated_error_s=1.0,
    pps_locked=False,
    note="time quality not measured: no timing source wired to the uplink",
)
"""Used when the caller gives no time quality: says plainly that nothing was measured."""

_TEMPERATURE_SENSORS = ("cpu_thermal", "coretemp", "k10temp", "soc_thermal", "cpu-thermal", "acpitz")


def cpu_temperature_c() -> float | None:
    """Hottest CPU/SoC temperature, degrees Celsius, or None when the machine exposes none."""
    reader = getattr(psutil, "sensors_temperatures", None)
    if reader is None:
        return None
    try:
        sensors = reader()
    except (OSError, RuntimeError):
        return None
    readings = [t.current for name in _TEMPERATURE_SENSORS for t in sensors.get(name, [])]
    if not readings:
        readings = [t.current for entries in sensors.values() for t in entries]
    readings = [r for r in readings if r is not None and -100 <= r <= 200]
    return max(readings) if readings else None


def collect_telemetry(
    station_id: str,
    *,
    outbox_depth: int = 0,
    queue_depth: int = 0,
    time_quality: TimeQuality | None = None,
    cameras: Sequence[CameraTelemetry] = (),
    data_path: str | os.PathLike[str] = "/",
) -> Telemetry:
    """A `Telemetry` message for now: CPU percent (since the previous call), memory percent,
    free bytes on `data_path`'s file system, temperature in Celsius, plus the given counters."""
    return Telemetry(
        station_id=station_id,
        utc=datetime.now(UTC),
        cpu_percent=min(100.0, max(0.0, float(psutil.cpu_percent(interval=None)))),
        mem_percent=min(100.0, max(0.0, float(psutil.virtual_memory().percent))),
        disk_free_bytes=int(psutil.disk_usage(os.fspath(data_path)).free),
        temperature_c=cpu_temperature_c(),
        cameras=list(cameras),
        time_quality=time_quality or UNMEASURED_TIME_QUALITY,
        queue_depth=int(queue_depth),
        outbox_depth=int(outbox_depth),
    )
