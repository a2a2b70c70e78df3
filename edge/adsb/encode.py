"""ADS-B extended-squitter (DF17) encoder: identification, airborne position and airborne velocity.

Used by the simulator's aircraft (`edge.sim.adsb`) and by the tests, which check that pyModeS
decodes what is written here back to the same values. Field layouts follow RTCA DO-260B /
ICAO Annex 10 Vol IV (as pyModeS decodes them); the CRC-24 parity is pyModeS's
(`pyModeS.util.crc` of the message with zero parity is the parity to send), and the CPR
longitude-zone count is pyModeS's `cprNL`.

Units at the interface: degrees, feet (barometric altitude, as broadcast), knots, feet/minute.
"""

from __future__ import annotations

import math

from pyModeS.util import cprNL, crc

CPR_BITS = 17
_CPR_SCALE = 1 << CPR_BITS
_CHARS = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"
_CODE_OF = {c: i for i, c in enumerate(_CHARS) if c != "#"}
ALTITUDE_MIN_FT = -1000
ALTITUDE_MAX_FT = 50175  # largest altitude with 25 ft resolution (Q bit set)


def _icao_int(icao24: str) -> int:
    if len(icao24) != 6 or any(c not in "0123456789abcdefABCDEF" for c in icao24):
        raise ValueError(f"icao24 must be 6 hex digits, got {icao24!r}")
    return int(icao24, 16)


def _df17(icao24: str, me: int, capability: int = 5) -> str:
    """A DF17 message (hex) of a 56-bit ME field, with its CRC-24 parity."""
    if not 0 <= me < 1 << 56:
        raise ValueError("ME field must fit in 56 bits")
    head = ((17 << 3) | capability) << 80 | _icao_int(icao24) << 56 | me
    unsigned = f"{head << 24:028X}"
    return f"{(head << 24) | crc(unsigned):028X}"


def identification(icao24: str, callsign: str, category: int = 3, type_code: int = 4) -> str:
    """Aircraft identification (TC 1-4): callsign of up to 8 of A-Z, 0-9 and space."""
    if not 1 <= type_code <= 4:
        raise ValueError(f"identification type code must be 1..4, got {type_code}")
    text = callsign.upper().ljust(8)
    if len(text) > 8 or any(c not in _CODE_OF for c in text):
        raise ValueError(f"callsign must be up to 8 of A-Z, 0-9 and space, got {callsign!r}")
    chars = 0
    for c in text:
        chars = chars << 6 | _CODE_OF[c]
    me = type_code << 51 | (category & 7) << 48 | chars
    return _df17(icao24, me)


def altitude_code(alt_ft: float) -> int:
    """12-bit altitude field with the Q bit set (25 ft steps), -1000..50175 ft."""
    n = int(round((alt_ft - ALTITUDE_MIN_FT) / 25.0))
    if not 0 <= n <= (ALTITUDE_MAX_FT - ALTITUDE_MIN_FT) // 25:
        raise ValueError(f"altitude {alt_ft} ft is outside {ALTITUDE_MIN_FT}..{ALTITUDE_MAX_FT} ft")
    return (n >> 4) << 5 | 1 << 4 | (n & 0xF)


def cpr_encode(lat_deg: float, lon_deg: float, odd: bool) -> tuple[int, int]:
    """Airborne CPR (17-bit) encoding of a position: (YZ, XZ) for the even or odd format."""
    i = 1 if odd else 0
    dlat = 360.0 / (60 - i)
    yz = math.floor(_CPR_SCALE * (lat_deg % dlat) / dlat + 0.5)
    rlat = dlat * (yz / _CPR_SCALE + math.floor(lat_deg / dlat))
    dlon = 360.0 / max(cprNL(rlat) - i, 1)
    xz = math.floor(_CPR_SCALE * (lon_deg % dlon) / dlon + 0.5)
    return yz % _CPR_SCALE, xz % _CPR_SCALE


def airborne_position(
    icao24: str,
    lat_deg: float,
    lon_deg: float,
    baro_alt_ft: float,
    odd: bool,
    type_code: int = 11,
    surveillance_status: int = 0,
) -> str:
    """Airborne position with barometric altitude (TC 9-18), CPR even (odd=False) or odd format."""
    if not 9 <= type_code <= 18:
        raise ValueError(f"barometric airborne position type code must be 9..18, got {type_code}")
    if not -90.0 <= lat_deg <= 90.0:
        raise ValueError(f"lat_deg {lat_deg} is outside -90..90")
    yz, xz = cpr_encode(lat_deg, lon_deg, odd)
    me = (
        type_code << 51
        | (surveillance_status & 3) << 49
        | altitude_code(baro_alt_ft) << 36
        | int(odd) << 34
        | yz << 17
        | xz
    )
    return _df17(icao24, me)


def _signed_field(value: float, step: float, bits: int) -> tuple[int, int]:
    """(sign bit, magnitude field) of a value in `step` units, magnitude + 1 (0 means unknown)."""
    mag = min(int(round(abs(value) / step)) + 1, (1 << bits) - 1)
    return int(value < 0), mag


def airborne_velocity(
    icao24: str,
    v_east_kt: float,
    v_north_kt: float,
    vertical_rate_fpm: float = 0.0,
    geo_minus_baro_ft: float | None = None,
    nac_v: int = 1,
    gnss_vertical_rate: bool = True,
) -> str:
    """Airborne velocity over ground (TC 19, subtype 1): east/north knots, vertical rate,
    and the GNSS height minus barometric altitude difference (None: not available)."""
    s_ew, m_ew = _signed_field(v_east_kt, 1.0, 10)
    s_ns, m_ns = _signed_field(v_north_kt, 1.0, 10)
    s_vr, m_vr = _signed_field(vertical_rate_fpm, 64.0, 9)
    s_dif, m_dif = (0, 0) if geo_minus_baro_ft is None else _signed_field(geo_minus_baro_ft, 25.0, 7)
    me = (
        19 << 51
        | 1 << 48
        | (nac_v & 7) << 43
        | s_ew << 42
        | m_ew << 32
        | s_ns << 31
        | m_ns << 21
        | int(not gnss_vertical_rate) << 20
        | s_vr << 19
        | m_vr << 10
        | s_dif << 7
        | m_dif
    )
    return _df17(icao24, me)
