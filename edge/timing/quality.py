"""The station clock's time-quality record, from chrony's tracking and gpsd.

Inputs: `chronyc -c tracking` (`edge.timing.chrony`) and a short listen to gpsd
(`edge.timing.gpsd`). The station's chrony runs `refclock SHM 0 refid NMEA ... noselect` and
`refclock PPS /dev/pps0 lock NMEA refid PPS prefer`, so chrony's reference id says what the
clock follows:

- `PPS` (or another id in `pps_refids`), synchronised: `gps-pps`; locked when chrony's offset
  and RMS offset are both within `pps_lock_max_s` (kernel PPS holds about 1 us);
- `NMEA`/`GPS`/`GPSD`/`SHM0`/`SOCK`: `gps-nmea` (good to tens of ms);
- any other synchronised reference (an NTP server): `ntp`;
- chrony missing, not answering or not synchronised: `free-running`, with a note, never an
  exception.

The estimated error is chrony's bound |offset| + root dispersion + root delay / 2 (free-running:
`free_running_error_s`). When PPS is expected (`expect_pps`) and the clock is not locked to it,
`pps_lost` is set, a warning is given and the record's note says "PPS lost", so observations
made meanwhile carry the flag.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from edge.protocol import TimeQuality, TimeSource
from edge.timing.chrony import ChronyTracking, read_tracking
from edge.timing.gpsd import GpsState, read_gpsd

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimingPolicy:
    """How chrony's reference is read, and what counts as locked (seconds)."""

    pps_refids: tuple[str, ...] = ("PPS", "PPS0", "PPS1", "KPPS")
    nmea_refids: tuple[str, ...] = ("NMEA", "GPS", "GPSD", "SHM0", "SHM1", "SOCK")
    pps_lock_max_s: float = 1e-4
    free_running_error_s: float = 1.0
    expect_pps: bool = True


@dataclass(frozen=True)
class TimeStatus:
    """The time-quality record plus what went into it."""

    quality: TimeQuality
    pps_lost: bool
    warnings: tuple[str, ...] = ()
    chrony: ChronyTracking | None = None
    gps: GpsState | None = None
    checked_unix_s: float = field(default_factory=time.time)


def decide_time_quality(
    tracking: ChronyTracking | None,
    gps: GpsState | None = None,
    policy: TimingPolicy | None = None,
    chrony_note: str | None = None,
) -> TimeStatus:
    """The time-quality record from chrony's tracking (None: chrony unavailable, `chrony_note`
    says why) and gpsd's state (None: not read)."""
    policy = policy or TimingPolicy()
    warnings: list[str] = []
    pps_locked = False
    if tracking is None or not tracking.synchronised:
        source = TimeSource.FREE_RUNNING
        error_s = policy.free_running_error_s
        offset_s = tracking.system_minus_reference_s if tracking is not None else None
        desc = chrony_note or "chrony is not synchronised"
        warnings.append(f"clock free-running: {desc}")
    else:
        ref = tracking.ref_id_text or tracking.ref_name
        offset_s = tracking.system_minus_reference_s
        error_s = tracking.max_error_s
        if ref in policy.pps_refids:
            source = TimeSource.GPS_PPS
            pps_locked = (
                tracking.leap_status == "Normal"
                and abs(tracking.correction_s) <= policy.pps_lock_max_s
                and tracking.rms_offset_s <= policy.pps_lock_max_s
            )
            if not pps_locked:
                warnings.append(
                    f"PPS selected but not locked (offset {offset_s:+.2e} s, "
                    f"rms {tracking.rms_offset_s:.2e} s)"
                )
        elif ref in policy.nmea_refids:
            source = TimeSource.GPS_NMEA
        else:
            source = TimeSource.NTP
        desc = f"chrony ref {ref or tracking.ref_id_hex} stratum {tracking.stratum} offset {offset_s:+.3e} s"
    if gps is not None:
        if not gps.connected:
            warnings.append(gps.note or "gpsd unavailable")
        elif not gps.has_fix:
            warnings.append("GPS has no fix")
        elif policy.expect_pps and gps.pps_count == 0:
            warnings.append("gpsd reports no PPS pulses")
    pps_lost = policy.expect_pps and not pps_locked
    if pps_lost:
        warnings.append("PPS lost: frame times are not PPS-disciplined")
    note = desc + ("; PPS lost" if pps_lost else "")
    quality = TimeQuality(
        source=source,
        estimated_error_s=error_s,
        pps_locked=pps_locked,
        pps_lost=pps_lost,
        offset_s=offset_s,
        note=note[:200],
    )
    return TimeStatus(quality, pps_lost, tuple(warnings), tracking, gps)


def read_time_status(
    policy: TimingPolicy | None = None,
    chronyc: str = "chronyc",
    gpsd_host: str | None = "127.0.0.1",
    gpsd_port: int = 2947,
    gpsd_listen_s: float = 1.5,
) -> TimeStatus:
    """Ask chrony (and gpsd unless `gpsd_host` is None) now; never raises."""
    tracking, why = read_tracking(chronyc)
    gps = read_gpsd(gpsd_host, gpsd_port, gpsd_listen_s) if gpsd_host else None
    return decide_time_quality(tracking, gps, policy, why)


class TimeQualityMonitor:
    """A cached time-quality record for camera backends: `current()` returns the last record and
    re-reads chrony/gpsd when it is older than `refresh_s` seconds. Warnings are logged when they
    change (PPS lost, free-running, no fix)."""

    def __init__(self, refresh_s: float = 10.0, reader=None) -> None:
        self.refresh_s = refresh_s
        self._reader = reader or read_time_status
        self._status: TimeStatus | None = None
        self._t = -float("inf")
        self._lock = threading.Lock()

    def status(self) -> TimeStatus:
        with self._lock:
            now = time.monotonic()
            if self._status is None or now - self._t >= self.refresh_s:
                new = self._reader()
                if self._status is None or new.warnings != self._status.warnings:
                    for w in new.warnings:
                        log.warning("time_quality warning=%r source=%s", w, new.quality.source)
                self._status, self._t = new, now
            return self._status

    def current(self) -> TimeQuality:
        return self.status().quality
