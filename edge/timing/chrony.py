"""chrony's view of the system clock: `chronyc -c tracking` run and parsed.

The CSV form has 14 fields in this order (chrony's client.c, `process_cmd_tracking`): reference
id (8 hex digits), reference name (the refid text for a reference clock such as `PPS` or `NMEA`,
an IP address for an NTP server), stratum, reference time (POSIX s), system time (chrony's
current correction, s; positive means the system clock is slow), last offset (s), RMS offset
(s), frequency (ppm), residual frequency (ppm), skew (ppm), root delay (s), root dispersion (s),
update interval (s), leap status (`Normal`, `Insert second`, `Delete second`,
`Not synchronised`).
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass

LEAP_STATUSES = ("Normal", "Insert second", "Delete second", "Not synchronised")


@dataclass(frozen=True)
class ChronyTracking:
    """One `chronyc -c tracking` report; times in seconds, frequencies in ppm."""

    ref_id_hex: str
    ref_name: str
    stratum: int
    ref_time_unix_s: float
    correction_s: float  # chrony's "System time": positive = system clock slow of the reference
    last_offset_s: float
    rms_offset_s: float
    frequency_ppm: float
    residual_freq_ppm: float
    skew_ppm: float
    root_delay_s: float
    root_dispersion_s: float
    update_interval_s: float
    leap_status: str

    @property
    def synchronised(self) -> bool:
        return self.leap_status != "Not synchronised" and int(self.ref_id_hex, 16) != 0

    @property
    def ref_id_text(self) -> str:
        """The reference id as text (`50505300` -> `PPS`); empty if not printable (an IPv4 id)."""
        raw = bytes.fromhex(self.ref_id_hex).rstrip(b"\0")
        return raw.decode("ascii") if raw and all(0x21 <= b < 0x7F for b in raw) else ""

    @property
    def system_minus_reference_s(self) -> float:
        """Offset of the system clock from the reference (positive: system ahead)."""
        return -self.correction_s

    @property
    def max_error_s(self) -> float:
        """chrony's bound on the clock error: |offset| + root dispersion + root delay / 2."""
        return abs(self.correction_s) + self.root_dispersion_s + 0.5 * abs(self.root_delay_s)


def parse_tracking_csv(text: str) -> ChronyTracking:
    """Parse the one line `chronyc -c tracking` prints; ValueError names what is wrong."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if len(lines) != 1:
        raise ValueError(f"chronyc tracking: expected one CSV line, got {len(lines)} lines: {text[:120]!r}")
    f = [x.strip() for x in lines[0].split(",")]
    if len(f) != 14:
        raise ValueError(f"chronyc tracking: expected 14 CSV fields, got {len(f)}: {lines[0][:120]!r}")
    try:
        int(f[0], 16)
        if len(f[0]) != 8:
            raise ValueError
    except ValueError:
        raise ValueError(f"chronyc tracking: reference id {f[0]!r} is not 8 hex digits") from None
    names = (
        "ref_time",
        "system time",
        "last offset",
        "RMS offset",
        "frequency",
        "residual frequency",
        "skew",
        "root delay",
        "root dispersion",
        "update interval",
    )
    values = []
    for name, raw in zip(names, f[3:13], strict=True):
        try:
            v = float(raw)
        except ValueError:
            raise ValueError(f"chronyc tracking: {name} {raw!r} is not a number") from None
        if not math.isfinite(v):
            raise ValueError(f"chronyc tracking: {name} {raw!r} is not finite")
        values.append(v)
    try:
        stratum = int(f[2])
    except ValueError:
        raise ValueError(f"chronyc tracking: stratum {f[2]!r} is not an integer") from None
    if f[13] not in LEAP_STATUSES:
        raise ValueError(f"chronyc tracking: unknown leap status {f[13]!r}")
    return ChronyTracking(f[0].upper(), f[1], stratum, *values, leap_status=f[13])


def read_tracking(
    chronyc: str = "chronyc", timeout_s: float = 2.0
) -> tuple[ChronyTracking | None, str | None]:
    """Run `chronyc -c tracking`: (tracking, None), or (None, why not) — never raises."""
    try:
        out = subprocess.run(
            [chronyc, "-c", "tracking"], capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except FileNotFoundError:
        return None, f"{chronyc} not found (is chrony installed?)"
    except (subprocess.TimeoutExpired, OSError) as exc:
        return None, f"{chronyc} failed: {exc}"
    if out.returncode != 0:
        why = (out.stdout.strip() or out.stderr.strip() or f"exit status {out.returncode}").splitlines()[0]
        return None, f"{chronyc}: {why}"
    try:
        return parse_tracking_csv(out.stdout), None
    except ValueError as exc:
        return None, str(exc)
