"""Which observation reports are meteor-like, and so worth correlating and solving.

Stations report slow movers too (satellites, aircraft): the bridge stores every valid report, but
puts into events only those that may be meteors. A report is *not* meteor-like when

- its classification is a confident non-meteor (anything but `meteor` or `unclassified`, with a
  score of at least NON_METEOR_MIN_SCORE), or
- an ADS-B aircraft explains it (`aircraft` is set), or
- the detector's mean angular speed is known and outside METEOR_ANGULAR_SPEED_DEG_S.

Meteors cross the sky at a few to about 50 deg/s; satellites at about 0.5 to 2 deg/s, and aircraft
at about 10 km similar near the zenith (docs FACTS.md). The lower bound, 2 deg/s, drops the fast
end of satellites and aircraft and loses only meteors seen near their radiant or far down the sky,
which are short, foreshortened and poorly triangulated anyway. Reports without a speed or a
classification are kept in (unknown is not evidence against a meteor).
"""

from __future__ import annotations

from edge.protocol import ObservationReport
from edge.protocol.models import ClassLabel

METEOR_ANGULAR_SPEED_DEG_S = (2.0, 80.0)
"""Mean angular speeds (deg/s) accepted as a meteor's; 80 leaves room above the ~50 deg/s of the
fastest meteors for the detector's noise on short tracks."""

METEOR_LABELS = (ClassLabel.METEOR, ClassLabel.UNCLASSIFIED)

NON_METEOR_MIN_SCORE = 0.9
"""A non-meteor verdict keeps a report out of events only at this score or above. The shipped model's
meteor precision and recall are about 0.91 and 0.85 (docs/accuracy.md): a meteor it calls 'cloud'
at 0.5-0.8 is still solved, and the multi-station geometry rejects what is not a meteor."""


def screen_report(report: ObservationReport) -> str | None:
    """None if the report may show a meteor; otherwise why it does not (stored as the reason)."""
    cls = report.classification
    if (
        cls is not None
        and cls.label not in METEOR_LABELS
        and cls.score is not None
        and cls.score >= NON_METEOR_MIN_SCORE
    ):
        score = f" (score {cls.score:.2f})" if cls.score is not None else ""
        return f"classified as {cls.label.value}{score}"
    if report.aircraft is not None:
        callsign = f" {report.aircraft.callsign}" if report.aircraft.callsign else ""
        return f"matches aircraft {report.aircraft.icao24}{callsign} (ADS-B)"
    speed = report.detector.angular_speed_deg_s if report.detector is not None else None
    lo, hi = METEOR_ANGULAR_SPEED_DEG_S
    if speed is not None and not lo <= speed <= hi:
        return f"angular speed {speed:.2f} deg/s is outside the meteor range {lo:g} to {hi:g} deg/s"
    return None
