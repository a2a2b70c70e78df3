"""The sky seen from a station: ICRS <-> apparent alt/az, the Earth's orientation, Sun and Moon.

What it is for: astrometric calibration (catalogue stars to alt/az and back), turning inertial
vectors into Earth-fixed ones (``gcrs_to_itrs_matrix``), and twilight/moonlight for the simulator
and the scheduler.

How: ERFA (pyerfa, the C library astropy itself uses) does the work, on plain numpy arrays;
astropy is used only at the boundary, for ``Time`` (UTC/TT Julian dates) and for its bundled IERS
tables (UT1-UTC and polar motion). The Sun and Moon come from ERFA's ``epv00`` and ``moon98``,
which are what astropy's built-in (offline) ephemeris uses, through the same pipeline as stars.
Per-time work costs about 70 us, but for many closely spaced times the nutation and Earth
ephemeris are interpolated from 15-min nodes (error under 1 microarcsecond), so one direction at
1000 video-frame times costs about 3 ms.

Conventions: angles in degrees, azimuth from north through east, distances in metres.
``refraction=None`` gives geometric ("airless") apparent directions; ``refraction=Atmosphere(...)``
gives refracted ("observed") ones with ERFA's A tan z + B tan^3 z model (see ``Atmosphere``).

Earth orientation, offline: importing this module sets ``astropy.utils.iers.conf.auto_download =
False`` (never reach for the internet; use the IERS-A table bundled with astropy-iers-data) and
``auto_max_age = None`` (do not refuse to use that table because it is old). UT1-UTC and polar
motion are interpolated linearly in the table, as astropy does. Before the table starts (1973)
or after it ends (about a year after the astropy-iers-data release date, where the IERS-A
predictions stop) the nearest table value is held. Past the end, that extrapolation error grows
by roughly 0.1 to 0.5 s of UT1 per year (1.5 to 7.5 arcsec per year in hour angle, hence in
azimuth and altitude) plus up to about 0.5 arcsec of polar motion; keep astropy-iers-data current.
One log line (``iers_extrapolated``) says so, once per process; nothing else warns. Leap seconds
after the bundled leap-second table are assumed not to happen, and ERFA's "dubious year"
warnings for far-future dates are silenced here.

Accuracy against astropy's own ICRS -> AltAz transform: 1e-5 milliarcseconds, with or without
refraction; Sun within 0.1 mas of astropy's get_sun, Moon within 1 arcsec of its get_body (see
``tests/edge/geometry/test_celestial.py``).
"""

from __future__ import annotations

import datetime as _dt
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import astropy.units as u
import erfa
import numpy as np
from astropy.time import Time
from astropy.utils import iers
from astropy.utils.exceptions import AstropyWarning

from edge.geometry.earth import Site

__all__ = [
    "EARTH_ROTATION_RAD_S",
    "Atmosphere",
    "altaz_to_icrs",
    "earth_rotation_velocity_ms",
    "gcrs_to_itrs_matrix",
    "icrs_to_altaz",
    "moon_altaz_and_phase",
    "sun_altaz",
    "to_time",
]

log = logging.getLogger(__name__)

iers.conf.auto_download = False
iers.conf.auto_max_age = None

EARTH_ROTATION_RAD_S = 7.292115e-5
"""Nominal mean angular velocity of the Earth (IERS Conventions 2010, Table 1.1), rad/s."""

_ISA_SEA_LEVEL_HPA = 1013.25
_REFRACTION_INVERSE_MAX_STEPS = 10
_extrapolation_logged = False


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence ERFA's "dubious year" and astropy's IERS-range warnings (handled and logged here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*dubious year", category=erfa.ErfaWarning)
        warnings.filterwarnings("ignore", message=".*IERS data is valid", category=AstropyWarning)
        yield


# --------------------------------------------------------------------------------------------
# Time at the boundary


def to_time(t) -> Time:
    """An astropy ``Time`` from any of the time forms the station software uses.

    Accepted: a ``Time`` (returned unchanged, any scale); POSIX seconds as a number or array
    (UTC, astropy format 'unix'); a timezone-aware ``datetime``; an ISO 8601 string or array of
    strings (with a UTC offset such as ``+02:00`` or ``Z``, or without one, which means UTC).
    Raises ValueError for naive datetimes (their zone is a guess), non-finite numbers, booleans
    and anything that does not parse.
    """
    if isinstance(t, Time):
        return t
    with _quiet():
        return _to_time(t)


def _to_time(t) -> Time:
    if isinstance(t, _dt.datetime):
        return Time(_aware_to_utc(t, "time"), scale="utc")
    if isinstance(t, str):
        return Time(_iso_to_utc(t), scale="utc")
    if isinstance(t, bool | np.bool_):
        raise ValueError(f"time: {t!r} is a boolean, not a time")
    try:
        arr = np.asarray(t)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"time: cannot read {t!r} as a time ({exc})") from exc
    if arr.dtype.kind in "iuf":
        if not np.all(np.isfinite(arr)):
            raise ValueError("time: POSIX seconds must be finite")
        return Time(arr.astype(float), format="unix", scale="utc")
    if arr.dtype.kind == "U":
        return Time(np.vectorize(_iso_to_utc, otypes=[object])(arr).astype(str), scale="utc")
    if arr.dtype.kind == "O" and arr.size and all(isinstance(x, _dt.datetime) for x in arr.flat):
        utc = np.vectorize(lambda x: _aware_to_utc(x, "time"), otypes=[object])(arr)
        return Time(utc, scale="utc")
    raise ValueError(
        f"time: unsupported value {t!r} (give an astropy Time, POSIX seconds, an aware datetime "
        "or an ISO 8601 string)"
    )


def _aware_to_utc(d: _dt.datetime, field: str) -> _dt.datetime:
    if d.tzinfo is None or d.utcoffset() is None:
        raise ValueError(f"{field}: naive datetime {d.isoformat()} has no timezone; attach one (e.g. UTC)")
    return d.astimezone(_dt.UTC).replace(tzinfo=None)


def _iso_to_utc(s: str) -> str:
    """An ISO string in UTC without an offset (astropy's form) from one that may have an offset."""
    try:
        d = _dt.datetime.fromisoformat(s)
    except ValueError:
        d = None  # leap second (":60"), nanoseconds, ...: let astropy try
    if d is not None and d.tzinfo is not None:
        return _aware_to_utc(d, "time").isoformat()
    try:
        with _quiet():
            Time(s, scale="utc")
    except ValueError as exc:
        raise ValueError(f"time: cannot parse {s!r} as an ISO 8601 time") from exc
    return s


# --------------------------------------------------------------------------------------------
# Earth orientation


class _Eop(NamedTuple):
    utc1: np.ndarray
    utc2: np.ndarray
    tt1: np.ndarray
    tt2: np.ndarray
    dut1_s: np.ndarray
    xp_rad: np.ndarray
    yp_rad: np.ndarray


def _eop(t: Time) -> _Eop:
    """UTC and TT two-part Julian dates, UT1-UTC and polar motion at time(s) ``t``."""
    global _extrapolation_logged
    with _quiet():
        utc, tt = t.utc, t.tt
        table = iers.earth_orientation_table.get()
        dut1, status_ut1 = table.ut1_utc(utc.jd1, utc.jd2, return_status=True)
        xp, yp, status_pm = table.pm_xy(utc.jd1, utc.jd2, return_status=True)
    if not _extrapolation_logged and (np.any(status_ut1 < 0) or np.any(status_pm < 0)):
        _extrapolation_logged = True
        end = Time(table["MJD"][-1], format="mjd").iso[:10]
        log.warning(
            "event=iers_extrapolated table_end=%s detail=UT1-UTC and polar motion held at the table's "
            "edge values; update astropy-iers-data",
            end,
        )
    return _Eop(utc.jd1, utc.jd2, tt.jd1, tt.jd2, dut1.to_value(u.s), xp.to_value(u.rad), yp.to_value(u.rad))


_NODE_SPACING_D = 1.0 / 96.0  # 15 min: linear interpolation error under 1 microarcsecond
_MIN_TIMES_TO_INTERPOLATE = 32


def _slow_terms(tt1, tt2, *, ephemeris: bool):
    """CIP X, Y (rad) and, if ``ephemeris``, the Earth's barycentric p,v (au, au/d; ERFA's pv dtype)
    and heliocentric position (au, shape (..., 3)) at TT two-part Julian dates.

    These are the expensive parts of the per-time work (IAU 2006/2000A nutation, VSOP87-based
    ``eraEpv00``: about 30 us each per time). For many times they are computed on nodes every
    15 min across the span and interpolated linearly: their fastest terms (the 13.7-day nutation,
    0.2 arcsec) then err by under 1 microarcsecond. Few or widely spread times are computed exactly.
    """
    tt1, tt2 = np.broadcast_arrays(np.asarray(tt1, float), np.asarray(tt2, float))
    ref = float(tt1.flat[0]) if tt1.size else 0.0
    d = (tt1 - ref) + tt2  # days from ref, to 1e-11 d
    n_nodes = int(np.ceil(np.ptp(d) / _NODE_SPACING_D)) + 2 if d.size else 0
    if d.size < _MIN_TIMES_TO_INTERPOLATE or 2 * n_nodes > d.size:
        at1, at2 = tt1, tt2
    else:
        at1, at2 = ref, np.linspace(d.min(), d.max(), n_nodes)
    with _quiet():
        x, y = erfa.bpn2xy(erfa.pnm06a(at1, at2))
        pvh, pvb = erfa.epv00(at1, at2) if ephemeris else (None, None)
    if at2 is tt2:
        return x, y, pvb, None if pvh is None else pvh["p"]

    def interp(v):
        v = np.asarray(v)
        flat = v.reshape(len(at2), -1)
        out = np.stack([np.interp(d.ravel(), at2, flat[:, k]) for k in range(flat.shape[1])], axis=-1)
        return out.reshape(d.shape + v.shape[1:])

    if not ephemeris:
        return interp(x), interp(y), None, None
    pv = np.empty(d.shape, erfa.dt_pv)
    pv["p"], pv["v"] = interp(pvb["p"]), interp(pvb["v"])
    return interp(x), interp(y), pv, interp(pvh["p"])


def gcrs_to_itrs_matrix(time) -> np.ndarray:
    """Rotation matrices taking GCRS vectors to ITRS (= ECEF, WGS84 axes) vectors, shape (..., 3, 3).

    ``time``: an astropy Time (any scale, scalar or array) or anything ``to_time`` accepts; the
    leading shape of the result is the time's shape. IAU 2006/2000A precession-nutation, Earth
    rotation angle from UT1, polar motion: ERFA's ``c2t06a`` steps (for 32 or more closely spaced
    times the nutation is interpolated, to 1e-11 rad), with UT1-UTC and polar motion from
    astropy's bundled IERS table (see the module docstring for times past its end). Agrees with
    astropy's GCRS -> ITRS transform to about 1e-15.
    ``M @ v_gcrs`` is the same vector in ITRS; this rotates directions and positions only: for a
    velocity seen from the rotating Earth add ``-earth_rotation_velocity_ms(r_itrs)``, i.e.
    ``v_itrs = M @ v_gcrs - omega x r_itrs``.
    """
    t = to_time(time)
    e = _eop(t)
    x, y, _pvb, _ph = _slow_terms(e.tt1, e.tt2, ephemeris=False)
    with _quiet():
        ut11, ut12 = erfa.utcut1(e.utc1, e.utc2, e.dut1_s)
    rc2i = erfa.c2ixys(x, y, erfa.s06(e.tt1, e.tt2, x, y))
    rpom = erfa.pom00(e.xp_rad, e.yp_rad, erfa.sp00(e.tt1, e.tt2))
    return erfa.c2tcio(rc2i, erfa.era00(ut11, ut12), rpom)


def earth_rotation_velocity_ms(ecef_m) -> np.ndarray:
    """Velocity in m/s, shape (..., 3), of Earth-fixed point(s) ``ecef_m`` (m) in a non-rotating frame.

    omega x r with omega = ``EARTH_ROTATION_RAD_S`` about the ITRS z axis, expressed on ITRS axes
    (about 465 m/s eastward on the equator). Good to about 2e-6 relative: the true rotation axis
    (the CIP) is tilted from ITRS z by polar motion (about 0.3 arcsec) and the length of day varies.
    """
    r = np.asarray(ecef_m, float)
    if r.shape[-1:] != (3,):
        raise ValueError(f"ecef_m: last axis must have length 3, got shape {r.shape}")
    return EARTH_ROTATION_RAD_S * np.stack([-r[..., 1], r[..., 0], np.zeros_like(r[..., 0])], axis=-1)


# --------------------------------------------------------------------------------------------
# ICRS <-> alt/az


@dataclass(frozen=True)
class Atmosphere:
    """Weather at the site, for refraction with ERFA's model (``eraRefco``: dZ = A tan z + B tan^3 z).

    pressure_hpa: total pressure at the site, hPa. The default is the sea-level standard; use
    ``Atmosphere.standard_at(height_m)`` for the ISA pressure at the site's height (a station at
    1000 m sees about 11 % less refraction than at sea level).
    temperature_c: air temperature, deg C. relative_humidity: 0..1. wavelength_um: effective
    wavelength, micrometres (0.55 for V; values above 100 select ERFA's radio formula).

    Validity: ERFA quotes 0.05 arcsec against ray tracing for altitudes above 20 deg and 30 arcsec
    at 5 deg. Below about 5 deg the model saturates: with the defaults it lifts a star by 9.3 arcmin
    at 5 deg, 11.2 arcmin at 3 deg and 11.15 arcmin at the horizon and below, where the real
    refraction is about 14 and 34 arcmin (ERFA: "20 arcmin at the horizon"). Do not fit or
    report positions below about 5 deg with it; local temperature gradients dominate there anyway.
    """

    pressure_hpa: float = _ISA_SEA_LEVEL_HPA
    temperature_c: float = 10.0
    relative_humidity: float = 0.5
    wavelength_um: float = 0.55

    def __post_init__(self) -> None:
        if not (np.isfinite(self.pressure_hpa) and 0.0 <= self.pressure_hpa <= 1200.0):
            raise ValueError(f"pressure_hpa: {self.pressure_hpa} is outside 0..1200 hPa")
        if not (np.isfinite(self.temperature_c) and -100.0 <= self.temperature_c <= 60.0):
            raise ValueError(f"temperature_c: {self.temperature_c} is outside -100..60 deg C")
        if not (np.isfinite(self.relative_humidity) and 0.0 <= self.relative_humidity <= 1.0):
            raise ValueError(f"relative_humidity: {self.relative_humidity} is outside 0..1 (a fraction)")
        if not (np.isfinite(self.wavelength_um) and self.wavelength_um > 0.0):
            raise ValueError(f"wavelength_um: {self.wavelength_um} must be positive (micrometres)")

    @classmethod
    def standard_at(cls, height_m: float, **kwargs) -> Atmosphere:
        """The ISA (troposphere) standard pressure at ``height_m`` above sea level, other fields as given."""
        p = _ISA_SEA_LEVEL_HPA * (1.0 - 2.25577e-5 * float(height_m)) ** 5.25588
        return cls(pressure_hpa=p, **kwargs)


def _check_site(site: Site) -> None:
    if not isinstance(site, Site):
        raise ValueError(f"site: expected an edge.geometry.earth.Site, got {type(site).__name__}")


def _angles(value, field: str, lo: float, hi: float) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{field}: values must be finite")
    if lo is not None and (np.any(a < lo) or np.any(a > hi)):
        raise ValueError(f"{field}: values must lie in {lo}..{hi} deg")
    return np.radians(a)


def _astrom(t: Time, site: Site, refraction: Atmosphere | None) -> np.ndarray:
    """ERFA's star-independent astrometry parameters (one ``eraASTROM`` per time, time's shape)."""
    return _astrom_and_earth(t, site, refraction)[0]


def _astrom_and_earth(t: Time, site: Site, refraction: Atmosphere | None):
    """``eraASTROM`` per time, the Earth's barycentric p,v (au, au/d) and the TT dates."""
    _check_site(site)
    if refraction is not None and not isinstance(refraction, Atmosphere):
        raise ValueError(f"refraction: expected None or an Atmosphere, got {type(refraction).__name__}")
    atm = refraction if refraction is not None else Atmosphere(pressure_hpa=0.0)
    e = _eop(t)
    x, y, pvb, ph = _slow_terms(e.tt1, e.tt2, ephemeris=True)
    with _quiet():
        ut11, ut12 = erfa.utcut1(e.utc1, e.utc2, e.dut1_s)
    refa, refb = erfa.refco(atm.pressure_hpa, atm.temperature_c, atm.relative_humidity, atm.wavelength_um)
    # The same steps as eraApco13, with the slow terms possibly interpolated (see _slow_terms).
    astrom = erfa.apco(
        e.tt1, e.tt2, pvb, ph, x, y, erfa.s06(e.tt1, e.tt2, x, y), erfa.era00(ut11, ut12),
        np.radians(site.lon_deg), np.radians(site.lat_deg), site.height_m,
        e.xp_rad, e.yp_rad, erfa.sp00(e.tt1, e.tt2), refa, refb,
    )  # fmt: skip
    return astrom, pvb, (e.tt1, e.tt2)


def icrs_to_altaz(
    ra_deg, dec_deg, time, site: Site, *, refraction: Atmosphere | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Apparent topocentric (alt_deg, az_deg) of ICRS (J2000) direction(s) seen from ``site``.

    Includes precession-nutation (IAU 2006/2000A), annual and diurnal aberration, light
    deflection by the Sun, Earth rotation (UT1) and polar motion; no proper motion or parallax
    (the directions are taken as given at the epoch of observation). Refraction only when
    ``refraction`` is an ``Atmosphere``. Azimuth is from north through east, 0..360.

    ``time``: astropy Time (or anything ``to_time`` accepts), scalar or array. ``ra_deg``,
    ``dec_deg`` and the time broadcast together with numpy rules (ra shape (N,) and time shape
    (T, 1) give (T, N)). The per-time work (``eraApco13``) is done once per element of the
    time array, so many stars at one time cost about 1 us each.
    """
    t = to_time(time)
    ra = _angles(ra_deg, "ra_deg", None, None)
    dec = _angles(dec_deg, "dec_deg", -90.0, 90.0)
    astrom = _astrom(t, site, refraction)
    ri, di = erfa.atciqz(ra, dec, astrom)
    aob, zob, _hob, _dob, _rob = erfa.atioq(ri, di, astrom)
    return 90.0 - np.degrees(zob), np.degrees(aob) % 360.0


def altaz_to_icrs(
    alt_deg, az_deg, time, site: Site, *, refraction: Atmosphere | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """ICRS (ra_deg, dec_deg) of apparent alt/az direction(s): the inverse of ``icrs_to_altaz``.

    Same model, arguments and broadcasting as ``icrs_to_altaz``; ``refraction`` must match the
    one the alt/az were made with (None for geometric alt/az). RA is in 0..360.
    Round trip error (alt/az -> ICRS -> alt/az) is below a microarcsecond, with or without
    refraction (the refracted inverse iterates on ERFA's forward step, 2 to 6 steps).
    """
    t = to_time(time)
    alt = _angles(alt_deg, "alt_deg", -90.0, 90.0)
    az = _angles(az_deg, "az_deg", None, None)
    astrom = _astrom(t, site, refraction)
    zd = np.pi / 2 - alt
    ri, di = erfa.atoiq("A", az, zd, astrom)
    if refraction is not None and refraction.pressure_hpa > 0.0:
        # eraAtioq (the forward step, as astropy uses it) inverts the refraction model only
        # approximately (0.1 arcsec at 5 deg altitude), so eraAtoiq alone is not its inverse:
        # correct the zenith distance until the forward step gives back the one asked for.
        zd_in = zd
        for _ in range(_REFRACTION_INVERSE_MAX_STEPS):
            _a, zd_fwd, _h, _d, _r = erfa.atioq(ri, di, astrom)
            step = zd - zd_fwd
            zd_in = zd_in + step
            ri, di = erfa.atoiq("A", az, zd_in, astrom)
            if np.max(np.abs(step), initial=0.0) < 1e-12:  # 0.2 microarcsecond
                break
    rc, dc = erfa.aticq(ri, di, astrom)
    return np.degrees(rc) % 360.0, np.degrees(dc)


# --------------------------------------------------------------------------------------------
# Sun and Moon


def _observed_altaz_of_vectors(p_au, astrom) -> tuple[np.ndarray, np.ndarray]:
    """(alt_deg, az_deg) of astrometric BCRS-axes vectors from the observer (au, shape (..., 3))."""
    ra, dec = erfa.c2s(p_au)
    ri, di = erfa.atciqz(ra, dec, astrom)
    aob, zob, _hob, _dob, _rob = erfa.atioq(ri, di, astrom)
    return 90.0 - np.degrees(zob), np.degrees(aob) % 360.0


def _sun_and_moon(time, site: Site, refraction: Atmosphere | None, *, moon: bool):
    """Astrometric vectors (au) from the observer to the Sun and the Moon, and the astrometry."""
    t = to_time(time)
    astrom, pvb, (tt1, tt2) = _astrom_and_earth(t, site, refraction)
    # The observer's heliocentric position is in the astrometry: the Sun is at -eh * em. The Sun's
    # own motion during the 8.3 min light time (about 6 km) is below 0.01 arcsec and ignored.
    to_sun = -astrom["eh"] * astrom["em"][..., None]
    if not moon:
        return astrom, to_sun, None
    with _quiet():
        pv_moon = erfa.moon98(tt1, tt2)  # geocentric, GCRS axes, au and au/d (astropy's "builtin")
    to_moon = pv_moon["p"] - (astrom["eb"] - pvb["p"])  # Moon minus the observer's geocentric position
    # light time (1.3 s): where the Moon was, relative to the barycentre, when the light left it
    tau_d = np.linalg.norm(to_moon, axis=-1, keepdims=True) / erfa.DC
    to_moon = to_moon - (pv_moon["v"] + pvb["v"]) * tau_d
    return astrom, to_sun, to_moon


def sun_altaz(time, site: Site, *, refraction: Atmosphere | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Apparent topocentric (alt_deg, az_deg) of the Sun's centre, vectorised over ``time``.

    Geometric (airless) unless ``refraction`` is given. The ephemeris is ERFA's ``epv00`` (what
    astropy's built-in ephemeris uses, offline; good to a few milliarcseconds for the Sun), then
    the same aberration and Earth-orientation steps as ``icrs_to_altaz``. For twilight use the
    geometric altitude directly: civil -6, nautical -12, astronomical -18 deg.
    """
    astrom, to_sun, _ = _sun_and_moon(time, site, refraction, moon=False)
    return _observed_altaz_of_vectors(to_sun, astrom)


def moon_altaz_and_phase(
    time, site: Site, *, refraction: Atmosphere | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apparent topocentric (alt_deg, az_deg) of the Moon's centre and its illuminated fraction (0..1).

    Topocentric: the Moon's parallax (up to 1 deg) is included. Geometric (airless) unless
    ``refraction`` is given. Vectorised over ``time``. The ephemeris is ERFA's ``moon98`` (what
    astropy's built-in ephemeris uses, offline; good to about 10 arcsec), corrected for light
    time. The illuminated fraction is (1 + cos i) / 2 with i the Sun-Moon-observer phase angle.
    """
    astrom, to_sun, to_moon = _sun_and_moon(time, site, refraction, moon=True)
    alt, az = _observed_altaz_of_vectors(to_moon, astrom)
    moon_to_sun, moon_to_obs = to_sun - to_moon, -to_moon
    cos_i = np.sum(moon_to_sun * moon_to_obs, axis=-1) / (
        np.linalg.norm(moon_to_sun, axis=-1) * np.linalg.norm(moon_to_obs, axis=-1)
    )
    return alt, az, 0.5 * (1.0 + cos_i)
