"""Meteor showers: the project's table of established showers, the IAU MDC list reader, solar longitude.

What it is for: the simulator draws meteors from a shower (radiant, drift, v_g, activity
window, ZHR); the bridge associates solved meteors with showers (within about 1 deg of solar
longitude of the activity, inside the radiant spread, v_g within about 10 %).

Where the figures come from: ``showers.csv`` beside this module is written by this project from
the literature named in each row's ``source`` column (Jenniskens 2006, "Meteor Showers and their
Parent Comets"; Jenniskens et al. 2016, CAMS; the IMO Meteor Shower Calendar). Figures are
rounded; the radiant is the geocentric one at the peak, J2000; the drift is per degree of solar
longitude (a blank drift in the file means the source gives none, read as 0). ``radiant_spread_deg``
is this project's association radius, not a literature figure. The test suite checks every row
against the IAU Meteor Data Center list (a radiant within a few degrees and v_g within 10 % of one
of its published solutions for the same code).

``load_iau_mdc`` reads the IAU MDC's pipe-separated ``streamfulldata.csv`` (26 fields: LP, IAUNo,
AdNo, Code, name, activity, status, LaSun, Ra, De, dRa, dDe, Vg, a, q, e, peri, node, inc, N,
Group, CG, parent body, remarks, OTe, reference) for association against the full list; this
project does not ship that file.

Solar longitude: apparent geocentric ecliptic longitude of the Sun referred to the mean equinox
of J2000 (the IAU MDC convention), from astropy's built-in (offline) ephemeris.
"""

from __future__ import annotations

import csv
import functools
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import erfa
import numpy as np
from astropy.coordinates import GeocentricMeanEcliptic, get_sun
from astropy.time import Time
from scipy.optimize import brentq

from edge.geometry.celestial import to_time

__all__ = [
    "SHOWERS_CSV",
    "IauShowerSolution",
    "Shower",
    "get_shower",
    "load_iau_mdc",
    "load_showers",
    "solar_longitude_deg",
    "time_of_solar_longitude",
]

SHOWERS_CSV = Path(__file__).with_name("showers.csv")

_COLUMNS = (
    "iau_no", "code", "name", "sol_begin_deg", "sol_peak_deg", "sol_end_deg", "ra_deg", "dec_deg",
    "dra_deg_per_sol", "ddec_deg_per_sol", "v_g_kms", "zhr", "radiant_spread_deg", "source",
)  # fmt: skip


def _wrap180(x):
    """Angle difference(s) wrapped into -180..180 deg."""
    return (np.asarray(x, float) + 180.0) % 360.0 - 180.0


# --------------------------------------------------------------------------------------------
# the project's table


@dataclass(frozen=True)
class Shower:
    """One meteor shower: activity in solar longitude (J2000, deg), geocentric radiant at the peak
    (J2000, deg) with its drift per degree of solar longitude, geocentric speed (km/s), peak ZHR,
    the association radius (deg) and the literature source of the figures."""

    iau_no: int
    code: str
    name: str
    sol_begin_deg: float
    sol_peak_deg: float
    sol_end_deg: float
    ra_deg: float
    dec_deg: float
    dra_deg_per_sol: float
    ddec_deg_per_sol: float
    v_g_kms: float
    zhr: float
    radiant_spread_deg: float
    source: str

    def radiant_at(self, sol_deg) -> tuple[np.ndarray | float, np.ndarray | float]:
        """(ra_deg, dec_deg) of the geocentric radiant (J2000) at solar longitude(s) ``sol_deg``,
        moved linearly from the peak radiant by the drift (ra in 0..360, dec clipped to +-90)."""
        d_sol = _wrap180(np.asarray(sol_deg, float) - self.sol_peak_deg)
        ra = (self.ra_deg + self.dra_deg_per_sol * d_sol) % 360.0
        dec = np.clip(self.dec_deg + self.ddec_deg_per_sol * d_sol, -90.0, 90.0)
        if np.ndim(ra) == 0:
            return float(ra), float(dec)
        return ra, dec

    def is_active(self, sol_deg) -> np.ndarray | bool:
        """Whether solar longitude(s) ``sol_deg`` lie in the activity window (handles the 360 wrap)."""
        span = (self.sol_end_deg - self.sol_begin_deg) % 360.0
        inside = (np.asarray(sol_deg, float) - self.sol_begin_deg) % 360.0 <= span
        return bool(inside) if np.ndim(inside) == 0 else inside


def _float(value: str, field: str, row: int, *, blank: float | None = None) -> float:
    text = value.strip()
    if not text:
        if blank is None:
            raise ValueError(f"showers.csv row {row}: {field} is blank")
        return blank
    try:
        x = float(text)
    except ValueError as exc:
        raise ValueError(f"showers.csv row {row}: {field} {text!r} is not a number") from exc
    if not math.isfinite(x):
        raise ValueError(f"showers.csv row {row}: {field} is not finite")
    return x


def _parse_row(rec: dict[str, str], row: int) -> Shower:
    f = functools.partial(_float, row=row)
    s = Shower(
        iau_no=int(f(rec["iau_no"], "iau_no")),
        code=rec["code"].strip().upper(),
        name=rec["name"].strip(),
        sol_begin_deg=f(rec["sol_begin_deg"], "sol_begin_deg"),
        sol_peak_deg=f(rec["sol_peak_deg"], "sol_peak_deg"),
        sol_end_deg=f(rec["sol_end_deg"], "sol_end_deg"),
        ra_deg=f(rec["ra_deg"], "ra_deg"),
        dec_deg=f(rec["dec_deg"], "dec_deg"),
        dra_deg_per_sol=f(rec["dra_deg_per_sol"], "dra_deg_per_sol", blank=0.0),
        ddec_deg_per_sol=f(rec["ddec_deg_per_sol"], "ddec_deg_per_sol", blank=0.0),
        v_g_kms=f(rec["v_g_kms"], "v_g_kms"),
        zhr=f(rec["zhr"], "zhr"),
        radiant_spread_deg=f(rec["radiant_spread_deg"], "radiant_spread_deg"),
        source=rec["source"].strip(),
    )
    if not re.fullmatch(r"[A-Z]{3}", s.code):
        raise ValueError(f"showers.csv row {row}: code {s.code!r} is not three letters")
    for name in ("sol_begin_deg", "sol_peak_deg", "sol_end_deg", "ra_deg"):
        if not 0.0 <= getattr(s, name) < 360.0:
            raise ValueError(f"showers.csv row {row}: {name} {getattr(s, name)} is outside 0..360")
    if not -90.0 <= s.dec_deg <= 90.0:
        raise ValueError(f"showers.csv row {row}: dec_deg {s.dec_deg} is outside -90..90")
    if not 11.0 <= s.v_g_kms <= 73.0:
        raise ValueError(f"showers.csv row {row}: v_g_kms {s.v_g_kms} is outside 11..73 km/s")
    if s.zhr < 0 or not 0.0 < s.radiant_spread_deg <= 20.0:
        raise ValueError(f"showers.csv row {row}: zhr must be >= 0 and radiant_spread_deg in (0, 20]")
    if not s.source:
        raise ValueError(f"showers.csv row {row}: source is blank")
    return s


def read_showers_csv(path: str | Path = SHOWERS_CSV) -> dict[str, Shower]:
    """Showers by IAU code from a CSV with the columns of ``showers.csv`` (lines starting '#' skipped)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        lines = [ln for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    missing = set(_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"{path.name}: missing columns {sorted(missing)}")
    out: dict[str, Shower] = {}
    for i, rec in enumerate(reader, start=1):
        s = _parse_row(rec, i)
        if s.code in out:
            raise ValueError(f"{path.name} row {i}: code {s.code} appears twice")
        out[s.code] = s
    return out


@functools.cache
def load_showers() -> dict[str, Shower]:
    """The project's shower table (``showers.csv``), by IAU three-letter code; read once and cached.
    Treat the returned dict as read-only."""
    return read_showers_csv(SHOWERS_CSV)


def get_shower(code: str) -> Shower:
    """The shower with IAU code ``code`` (case-insensitive); ValueError naming the known codes otherwise."""
    showers = load_showers()
    key = str(code).strip().upper()
    if key not in showers:
        raise ValueError(f"unknown shower code {code!r}; known: {', '.join(sorted(showers))}")
    return showers[key]


# --------------------------------------------------------------------------------------------
# the IAU Meteor Data Center list


@dataclass(frozen=True)
class IauShowerSolution:
    """One published solution (row) of the IAU MDC shower list. Missing numbers are NaN (floats)
    or None (integers). Angles in degrees (J2000 as published), v_g in km/s, a and q in AU;
    status as the MDC codes it (1 = established)."""

    lp: int
    iau_no: int
    ad_no: int | None
    code: str
    name: str
    activity: str
    status: int | None
    sol_deg: float
    ra_deg: float
    dec_deg: float
    dra_deg_per_sol: float
    ddec_deg_per_sol: float
    v_g_kms: float
    a_au: float
    q_au: float
    e: float
    peri_deg: float
    node_deg: float
    incl_deg: float
    n_meteors: int | None
    parent_body: str
    reference: str


_MDC_FIELDS = 26
_TAG = re.compile(r"<[^>]*>")


def _mdc_float(text: str) -> float:
    text = text.strip()
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return math.nan


def _mdc_int(text: str) -> int | None:
    x = _mdc_float(text)
    return None if math.isnan(x) else int(x)


def load_iau_mdc(path: str | Path) -> list[IauShowerSolution]:
    """Every solution in an IAU MDC ``streamfulldata.csv`` (pipe-separated, 26 fields, no header).

    Blank lines and lines starting with '#', ':' or '+' (comments and table rules) are skipped,
    as are lines whose first field is not a number (header lines); blank or unreadable numbers
    become NaN/None; HTML tags in the reference are removed. A data line with fewer than 26
    fields raises ValueError naming the line.
    """
    path = Path(path)
    out: list[IauShowerSolution] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            text = line.rstrip("\r\n")
            if not text.strip() or text.lstrip()[:1] in "#:+":
                continue
            fields = text.split("|")
            if _mdc_int(fields[0]) is None:
                continue  # a header line
            if len(fields) < _MDC_FIELDS:
                raise ValueError(f"{path.name} line {lineno}: {len(fields)} fields, expected {_MDC_FIELDS}")
            fl = [_mdc_float(x) for x in fields]
            iau_no = _mdc_int(fields[1])
            if iau_no is None:
                raise ValueError(f"{path.name} line {lineno}: IAU number {fields[1]!r} is not a number")
            out.append(
                IauShowerSolution(
                    lp=int(fl[0]),
                    iau_no=iau_no,
                    ad_no=_mdc_int(fields[2]),
                    code=fields[3].strip().upper(),
                    name=fields[4].strip(),
                    activity=fields[5].strip(),
                    status=_mdc_int(fields[6]),
                    sol_deg=fl[7],
                    ra_deg=fl[8],
                    dec_deg=fl[9],
                    dra_deg_per_sol=fl[10],
                    ddec_deg_per_sol=fl[11],
                    v_g_kms=fl[12],
                    a_au=fl[13],
                    q_au=fl[14],
                    e=fl[15],
                    peri_deg=fl[16],
                    node_deg=fl[17],
                    incl_deg=fl[18],
                    n_meteors=_mdc_int(fields[19]),
                    parent_body=fields[22].strip(),
                    reference=_TAG.sub("", "|".join(fields[25:])).strip(),
                )  # fmt: skip
            )
    return out


# --------------------------------------------------------------------------------------------
# solar longitude


def solar_longitude_deg(time) -> np.ndarray | float:
    """Solar longitude(s) in deg, 0..360: the Sun's apparent geocentric ecliptic longitude referred
    to the mean equinox (and ecliptic) of J2000, as the IAU MDC uses. ``time``: astropy Time or
    anything ``celestial.to_time`` accepts, scalar or array. astropy's built-in ephemeris (ERFA
    epv00, offline; a few arcseconds), aberration included, nutation not (mean equinox).
    Agrees with Meeus' low-precision theory (itself ~0.01 deg) to 0.01 deg over 2000..2040."""
    t = to_time(time)
    with warnings.catch_warnings():  # far-future UTC: same policy as edge.geometry.celestial
        warnings.filterwarnings("ignore", message=".*dubious year", category=erfa.ErfaWarning)
        sun = get_sun(t).transform_to(GeocentricMeanEcliptic(equinox="J2000", obstime=t))
    lon = sun.lon.to_value(u.deg) % 360.0
    return float(lon) if np.ndim(lon) == 0 else lon


_MEAN_RATE_DEG_PER_DAY = 360.0 / 365.2422


def time_of_solar_longitude(sol_deg: float, year: int) -> Time:
    """The UTC time (astropy Time) in calendar year ``year`` when the solar longitude (J2000, as
    ``solar_longitude_deg``) is ``sol_deg``: the first time at or after 1 January 00:00 UTC.

    A calendar year covers 359.76 deg (365 days) or 360.74 deg (366 days) of solar longitude, so
    within about 0.25 deg before the longitude at 1 January a value does not occur in a common
    year (the time returned is then early on 1 January of the next year), and within about
    0.74 deg after it a value occurs twice in a leap year (the first time is returned). Root
    finding (Brent) around a mean-motion first guess; good to well under a second."""
    if not (isinstance(sol_deg, int | float | np.floating | np.integer) and math.isfinite(sol_deg)):
        raise ValueError(f"sol_deg: {sol_deg!r} is not a finite number")
    if not isinstance(year, int | np.integer) or isinstance(year, bool) or not 1900 <= year <= 2200:
        raise ValueError(f"year: {year!r} is not an integer year in 1900..2200")
    start = Time(f"{int(year)}-01-01T00:00:00", scale="utc")
    lon0 = solar_longitude_deg(start)
    guess_days = ((float(sol_deg) - lon0) % 360.0) / _MEAN_RATE_DEG_PER_DAY

    def offset(days: float) -> float:
        return float(_wrap180(solar_longitude_deg(start + days * u.day) - sol_deg))

    # the true Sun leads or lags the mean one by at most about 2 deg (2 days): bracket +-4 days
    lo, hi = guess_days - 4.0, guess_days + 4.0
    days = brentq(offset, lo, hi, xtol=1e-8, rtol=1e-14)
    return start + days * u.day
