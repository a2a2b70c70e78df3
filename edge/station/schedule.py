"""When the station detects: while the Sun is below `[night] sun_altitude_deg` (nautical twilight,
-12 deg, by default), computed offline from the station's place with `astral` (pure Python, no
network; within seconds of astropy's times).

The supervisor asks `is_night(t)` each round to start or stop the camera processes, and
`window(t)` for the current (or next) night's start and end shown in the status. Near the poles
a night may never come (summer) or never end (winter): `window` then says so with None ends.
`always_on` (tests, demos) makes every moment night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from astral import Observer
from astral.sun import elevation

SCAN_STEP = timedelta(minutes=10)
SCAN_SPAN = timedelta(hours=40)
REFINE_TO = timedelta(seconds=1)


@dataclass(frozen=True)
class NightWindow:
    """The night around or after a moment: start and end UTC (None: beyond the 40 h searched)."""

    start_utc: datetime | None
    end_utc: datetime | None


class NightSchedule:
    """Night = Sun's apparent altitude below `sun_altitude_deg` at the site (see the module docstring)."""

    def __init__(
        self,
        latitude_deg: float,
        longitude_deg: float,
        height_m: float = 0.0,
        sun_altitude_deg: float = -12.0,
        always_on: bool = False,
    ) -> None:
        self.observer = Observer(latitude_deg, longitude_deg, height_m)
        self.sun_altitude_deg = float(sun_altitude_deg)
        self.always_on = always_on

    def sun_altitude(self, t: datetime) -> float:
        """The Sun's geometric altitude, degrees (twilight is defined without refraction)."""
        return float(elevation(self.observer, _aware(t), with_refraction=False))

    def is_night(self, t: datetime | None = None) -> bool:
        if self.always_on:
            return True
        return self.sun_altitude(t or datetime.now(UTC)) < self.sun_altitude_deg

    def window(self, t: datetime | None = None) -> NightWindow:
        """This night's start and end if it is night at `t`, else the next night's."""
        t = _aware(t or datetime.now(UTC))
        if self.always_on:
            return NightWindow(None, None)
        if self.is_night(t):
            return NightWindow(self._edge(t, -SCAN_STEP), self._edge(t, SCAN_STEP))
        start = self._edge(t, SCAN_STEP)
        end = self._edge(start + REFINE_TO, SCAN_STEP) if start is not None else None
        return NightWindow(start, end)

    def _edge(self, t: datetime, step: timedelta) -> datetime | None:
        """The first moment from `t` (stepping by `step`, either way) where night turns into day or
        back, to `REFINE_TO`; None if none within `SCAN_SPAN`."""
        state = self.is_night(t)
        a = t
        for _ in range(int(SCAN_SPAN / abs(step))):
            b = a + step
            if self.is_night(b) != state:
                lo, hi = (a, b) if step > timedelta(0) else (b, a)
                while hi - lo > REFINE_TO:
                    mid = lo + (hi - lo) / 2
                    if (self.is_night(mid) == state) == (step > timedelta(0)):
                        lo = mid
                    else:
                        hi = mid
                return hi
            a = b
        return None


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
