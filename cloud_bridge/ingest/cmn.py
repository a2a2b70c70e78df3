"""Import of meteor observations in the Croatian Meteor Network / RMS "M_" text format.

Such a file has a header (`Date:`, `Time:`, `Station_Code:`, `Long: 017.357222 E`,
`Lati: 045.819722 N`, `Height: 0135 m`) and one row per frame: Julian date (UTC), RA and Dec
(J2000, degrees, from a star-calibrated astrometric reduction: the same convention as our
reports), and magnitude. Pixel positions are not in the file, so the report's frames carry sky
positions only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from astropy.time import Time

from edge.protocol import FrameMeasurement, Location, ObservationReport, TimeQuality
from edge.protocol.models import make_observation_id

_HEADER = re.compile(r"^(\w+):\s*(.*)$")
_SIGNED = {"E": 1.0, "W": -1.0, "N": 1.0, "S": -1.0}


def _coordinate(text: str, field: str, path: Path) -> float:
    match = re.fullmatch(r"([0-9.+-]+)\s*([NSEW])", text.strip())
    if not match:
        raise ValueError(f"{path}: {field}: cannot read {text!r} (expected e.g. '017.357222 E')")
    return float(match.group(1)) * _SIGNED[match.group(2)]


def read_cmn_file(path: str | Path, *, camera_id: str = "cmn") -> ObservationReport:
    """One observation report from a CMN/RMS "M_" file; errors name the file, line and problem."""
    path = Path(path)
    header: dict[str, str] = {}
    rows: list[tuple[float, float, float, float]] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        head = _HEADER.match(line.strip())
        if head and not rows:
            header[head.group(1).lower()] = head.group(2)
            continue
        parts = line.split()
        try:
            jd, ra, dec, mag = (float(p) for p in parts)
        except ValueError:
            raise ValueError(f"{path}:{number}: expected 'JD RA Dec mag', got {line.strip()!r}") from None
        rows.append((jd, ra, dec, mag))
    missing = [k for k in ("station_code", "long", "lati", "height") if k not in header]
    if missing:
        raise ValueError(f"{path}: header lacks {', '.join(missing)}")
    if len(rows) < 2:
        raise ValueError(f"{path}: needs at least 2 measured frames, found {len(rows)}")
    height = re.fullmatch(r"([0-9.+-]+)\s*m", header["height"].strip())
    if not height:
        raise ValueError(f"{path}: Height: cannot read {header['height']!r} (expected e.g. '0135 m')")
    station_id = header["station_code"].strip().lower()
    times = Time([r[0] for r in rows], format="jd", scale="utc").to_datetime(timezone=UTC)
    frames = [
        FrameMeasurement(utc=t, frame_index=i, ra_deg=ra % 360.0, dec_deg=dec, mag=mag)
        for i, (t, (_jd, ra, dec, mag)) in enumerate(zip(times, rows, strict=True))
    ]
    return ObservationReport(
        observation_id=make_observation_id(station_id, camera_id, times[0], 0),
        station_id=station_id,
        camera_id=camera_id,
        location=Location(
            lat_deg=_coordinate(header["lati"], "Lati", path),
            lon_deg=_coordinate(header["long"], "Long", path),
            height_m=float(height.group(1)),
        ),
        created_utc=datetime.now(UTC),
        time_quality=TimeQuality(
            source="ntp", estimated_error_s=0.05, pps_locked=False,
            note="imported from a CMN file, which does not state its time source",
        ),
        frames=frames,
        refraction_applied=False,
    )
