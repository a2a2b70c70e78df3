"""ADS-B decoding with pyModeS: ICAO address, callsign, airborne position, altitude and velocity.

Input: Mode-S messages (hex) with their UTC reception times, from `edge.adsb.receiver` (Beast
frames from dump1090) or a recording. pyModeS's stateful `PipeDecoder` checks the CRC, pairs
even/odd CPR frames and then resolves single frames against the track; when it holds a frame
back (while it bootstraps a new track) and the station's place is known, the frame is resolved
alone against the station (`pyModeS.decode(..., reference=...)`, valid within 180 NM; frames
further than `max_range_m` from the station are dropped).

Heights. Airborne positions carry the *barometric* (pressure) altitude in feet: the height in
the 1013.25 hPa standard atmosphere at which the aircraft's static pressure is found. Real
heights differ from it with the weather by up to a few hundred metres, and it is referred to
mean sea level (the geoid), not to the WGS84 ellipsoid. What this module does:
- When the aircraft's velocity messages (TC 19) carry the GNSS-minus-barometric difference
  (seen within `gnss_diff_max_age_s`), the height is barometric + difference: the GNSS height,
  above the WGS84 ellipsoid for DO-260B (version 2) transponders (older ones may send it above
  MSL: a geoid-offset error of up to ~100 m that we accept). `height_sigma_m` is then 20 m.
- Otherwise the height is barometric altitude in metres plus the geoid undulation at the station
  (`geoid_undulation_m`, which the station's GPS reports as the geoid separation): metres above
  the ellipsoid with the weather error left in, `height_sigma_m` 250 m.
`baro_alt_m` is always the plain converted pressure altitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyModeS

from edge.adsb.beast import BeastFrame
from edge.geometry.earth import Site, geodetic_to_ecef

FT_M = 0.3048
KT_MS = 1852.0 / 3600.0
FPM_MS = FT_M / 60.0
GNSS_HEIGHT_SIGMA_M = 20.0
BARO_HEIGHT_SIGMA_M = 250.0
# 95 % horizontal containment radius (m) by NUCp (DO-260 / pyModeS `nuc_p`); sigma is half of it
_NUCP_RC_M = {9: 7.5, 8: 25.0, 7: 185.0, 6: 370.0, 5: 926.0, 4: 1852.0, 3: 3704.0, 2: 18520.0, 1: 37040.0}


@dataclass(frozen=True, slots=True)
class PositionFix:
    """One decoded airborne position of an aircraft at a UTC time.

    `height_m` is the best estimate of height above the WGS84 ellipsoid (see module doc);
    `source` is 'pair' / 'local' (pyModeS stream decoding) or 'reference' (single frame against
    the station's place)."""

    icao24: str
    t_unix: float
    lat_deg: float
    lon_deg: float
    baro_alt_m: float
    height_m: float
    height_sigma_m: float
    horizontal_sigma_m: float
    source: str


@dataclass
class AircraftInfo:
    """What is known of one aircraft beyond its positions (latest values; None if never seen)."""

    icao24: str
    callsign: str | None = None
    ground_speed_ms: float | None = None
    track_deg: float | None = None
    vertical_rate_ms: float | None = None
    geo_minus_baro_m: float | None = None
    t_geo_minus_baro: float = -math.inf
    t_last_unix: float = -math.inf
    messages: int = 0


@dataclass
class DecodeStats:
    messages: int = 0
    not_adsb: int = 0
    crc_failed: int = 0
    invalid: int = 0
    positions: int = 0
    positions_by_reference: int = 0
    positions_out_of_range: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def clean_callsign(text: str | None) -> str | None:
    """Callsign without padding ('_', '#', spaces), upper case; None if nothing is left."""
    if not text:
        return None
    out = "".join(c for c in text.upper() if c.isalnum())
    return out[:8] or None


class AdsbDecoder:
    """Stream decoder (one thread): `decode(msg_hex, t_unix)` or `decode_frame` returns a
    `PositionFix` for airborne positions (else None) and keeps per-aircraft callsign, velocity and
    GNSS-baro difference in `aircraft`.

    reference: the station's place (single-frame CPR fallback and range check); None disables both.
    """

    def __init__(
        self,
        reference: Site | None = None,
        geoid_undulation_m: float = 0.0,
        max_range_m: float = 300e3,
        gnss_diff_max_age_s: float = 60.0,
    ) -> None:
        self.reference = reference
        self.geoid_undulation_m = float(geoid_undulation_m)
        self.max_range_m = float(max_range_m)
        self.gnss_diff_max_age_s = float(gnss_diff_max_age_s)
        self.pipe = pyModeS.PipeDecoder()
        self.aircraft: dict[str, AircraftInfo] = {}
        self.stats = DecodeStats()
        self._ref_ecef = reference.ecef_m if reference is not None else None

    def decode(self, msg_hex: str, t_unix: float) -> PositionFix | None:
        """Decode one message received at t_unix (POSIX s, UTC). Bad messages are counted, not raised."""
        self.stats.messages += 1
        try:
            d = self.pipe.decode(msg_hex, timestamp=float(t_unix))
        except Exception as exc:  # pyModeS raises on a few malformed inputs; count and carry on
            self._error(type(exc).__name__)
            return None
        if "error" in d:
            self._error("invalid message")
            return None
        if d.get("df") not in (17, 18):
            self.stats.not_adsb += 1
            return None
        if d.get("crc_valid") is not True:
            self.stats.crc_failed += 1
            return None
        icao = str(d["icao"]).lower()
        info = self.aircraft.get(icao)
        if info is None:
            info = self.aircraft[icao] = AircraftInfo(icao)
        info.messages += 1
        info.t_last_unix = max(info.t_last_unix, float(t_unix))
        tc = d.get("typecode")
        if tc is not None and 1 <= tc <= 4:
            info.callsign = clean_callsign(d.get("callsign")) or info.callsign
        elif tc == 19:
            if d.get("groundspeed") is not None and d.get("track") is not None:
                info.ground_speed_ms = float(d["groundspeed"]) * KT_MS
                info.track_deg = float(d["track"])
            if d.get("vertical_rate") is not None:
                info.vertical_rate_ms = float(d["vertical_rate"]) * FPM_MS
            if d.get("geo_minus_baro") is not None:
                info.geo_minus_baro_m = float(d["geo_minus_baro"]) * FT_M
                info.t_geo_minus_baro = float(t_unix)
        elif tc is not None and 9 <= tc <= 18:
            return self._position(msg_hex, d, info, float(t_unix))
        return None

    def decode_frame(self, frame: BeastFrame, t_unix: float) -> PositionFix | None:
        """Decode one Beast frame (Mode-A/C frames are counted as not ADS-B and skipped)."""
        if not frame.is_mode_s:
            self.stats.messages += 1
            self.stats.not_adsb += 1
            return None
        return self.decode(frame.hex, t_unix)

    def _error(self, name: str) -> None:
        self.stats.invalid += 1
        self.stats.errors[name] = self.stats.errors.get(name, 0) + 1

    def _position(self, msg_hex: str, d: dict, info: AircraftInfo, t_unix: float) -> PositionFix | None:
        alt_ft = d.get("altitude")
        if alt_ft is None:
            return None
        lat, lon, source = d.get("latitude"), d.get("longitude"), "pair"
        if lat is None and self.reference is not None:
            single = pyModeS.decode(msg_hex, reference=(self.reference.lat_deg, self.reference.lon_deg))
            lat, lon, source = single.get("latitude"), single.get("longitude"), "reference"
        if lat is None or lon is None:
            return None
        baro_m = float(alt_ft) * FT_M
        fresh = t_unix - info.t_geo_minus_baro <= self.gnss_diff_max_age_s
        if fresh and info.geo_minus_baro_m is not None:
            height, sigma = baro_m + info.geo_minus_baro_m, GNSS_HEIGHT_SIGMA_M
        else:
            height, sigma = baro_m + self.geoid_undulation_m, BARO_HEIGHT_SIGMA_M
        if self._ref_ecef is not None:
            dist = float(np.linalg.norm(geodetic_to_ecef(lat, lon, height) - self._ref_ecef))
            if dist > self.max_range_m:
                self.stats.positions_out_of_range += 1
                return None
        self.stats.positions += 1
        if source == "reference":
            self.stats.positions_by_reference += 1
        rc = _NUCP_RC_M.get(int(d.get("nuc_p") or 0), 185.0)
        return PositionFix(
            icao24=info.icao24,
            t_unix=t_unix,
            lat_deg=float(lat),
            lon_deg=float(lon),
            baro_alt_m=baro_m,
            height_m=height,
            height_sigma_m=sigma,
            horizontal_sigma_m=rc / 2.0,
            source=source,
        )
