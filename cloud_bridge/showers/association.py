"""Shower association: which known meteor shower, if any, a solved meteor belongs to.

What it is for: after the orbit step (``cloud_bridge.orbit``) the bridge knows a meteor's
geocentric radiant (J2000), geocentric speed v_g and the solar longitude; ``associate`` names its
shower, ``associate_many`` gives, over the Monte Carlo runs, the fraction of runs that fall into
each shower (a confidence). The reference showers are the project's table
(``edge.catalogue.showers.load_showers``) or the full IAU Meteor Data Center list a user
downloaded (``ShowerReference.from_iau_mdc``).

Criteria (as the field does it: Jenniskens 2006, Vida et al. / WesternMeteorPyLib's
``associateShower``), all three must hold:
- solar longitude: inside the shower's activity window widened by ``sol_margin_deg`` (1 deg) on
  each side. For an IAU MDC solution, which has one solar longitude and no window, within
  ``MDC_SOL_WINDOW_DEG`` (3 deg) of it;
- radiant: the great-circle distance from the shower's radiant, moved to the meteor's solar
  longitude by its daily drift, at most the shower's ``radiant_spread_deg`` (MDC solutions have
  no spread: ``MDC_RADIUS_DEG``, 3 deg, the fixed radius the reference solver used with the MDC
  list and about the radiant dispersion of the major showers in CAMS and GMN data);
- speed: |v_g - v_g,shower| / v_g,shower at most ``max_dv_g_fraction`` (10 %).
Among the showers that pass, the one with the smallest normalised distance wins:
distance/radius + |dv_g fraction|/max_dv_g_fraction + the solar-longitude term (the distance
outside the activity window over the margin; for MDC solutions the distance from the solution's
solar longitude over the window). None means sporadic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.catalogue.showers import IauShowerSolution, Shower, load_iau_mdc, load_showers

__all__ = [
    "MAX_DV_G_FRACTION",
    "MDC_RADIUS_DEG",
    "MDC_SOL_WINDOW_DEG",
    "SOL_MARGIN_DEG",
    "SPORADIC",
    "ShowerMatch",
    "ShowerReference",
    "associate",
    "associate_many",
]

SOL_MARGIN_DEG = 1.0
"""Solar-longitude margin added to each end of a table shower's activity window, deg."""

MAX_DV_G_FRACTION = 0.10
"""Largest accepted relative difference of v_g from the shower's."""

MDC_RADIUS_DEG = 3.0
"""Association radius for IAU MDC solutions (which publish no radiant spread), deg."""

MDC_SOL_WINDOW_DEG = 3.0
"""Half-width of the solar-longitude window around an IAU MDC solution's solar longitude, deg."""

SPORADIC = "SPO"
"""The key ``associate_many`` uses for runs that associate with no shower (the IAU's code)."""


@dataclass(frozen=True)
class ShowerMatch:
    """The shower a meteor was associated with, and how close it came.

    radiant_distance_deg: great-circle distance from the shower's drift-corrected radiant, deg.
    dv_g_fraction: (v_g - v_g,shower) / v_g,shower (signed). sol_offset_deg: solar longitude minus
    the shower's peak (or the MDC solution's) solar longitude, wrapped to -180..180 deg.
    score: the normalised distance that ranked the candidates (smaller is closer; see the module).
    """

    code: str
    name: str
    iau_no: int
    radiant_distance_deg: float
    dv_g_fraction: float
    sol_offset_deg: float
    score: float


def _wrap180(x):
    return (np.asarray(x, float) + 180.0) % 360.0 - 180.0


@dataclass(frozen=True)
class ShowerReference:
    """Reference showers as arrays (one entry per shower or per MDC solution), ready for association.

    Build with ``from_showers`` (our table, the default) or ``from_iau_mdc``. Angles in deg (J2000),
    drifts in deg per deg of solar longitude, speeds km/s. The activity window is
    [sol_begin_deg, sol_end_deg] (wrapping through 360), widened by sol_margin_deg on each side.
    """

    code: np.ndarray
    name: np.ndarray
    iau_no: np.ndarray
    sol_peak_deg: np.ndarray
    sol_begin_deg: np.ndarray
    sol_end_deg: np.ndarray
    sol_margin_deg: np.ndarray
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    dra_deg_per_sol: np.ndarray
    ddec_deg_per_sol: np.ndarray
    v_g_kms: np.ndarray
    radius_deg: np.ndarray

    def __len__(self) -> int:
        return int(self.code.size)

    @classmethod
    def from_showers(
        cls,
        showers: Mapping[str, Shower] | Iterable[Shower] | None = None,
        *,
        sol_margin_deg: float = SOL_MARGIN_DEG,
    ) -> ShowerReference:
        """From ``Shower`` records (default: the project's table, ``load_showers()``)."""
        if showers is None:
            showers = load_showers()
        items = list(showers.values()) if isinstance(showers, Mapping) else list(showers)
        if not items:
            raise ValueError("showers: no shower given")
        if not sol_margin_deg >= 0:
            raise ValueError(f"sol_margin_deg: {sol_margin_deg} must be >= 0")

        def col(attr, dtype=float):
            return np.array([getattr(s, attr) for s in items], dtype=dtype)

        return cls(
            code=col("code", object), name=col("name", object), iau_no=col("iau_no", int),
            sol_peak_deg=col("sol_peak_deg"), sol_begin_deg=col("sol_begin_deg"),
            sol_end_deg=col("sol_end_deg"), sol_margin_deg=np.full(len(items), float(sol_margin_deg)),
            ra_deg=col("ra_deg"), dec_deg=col("dec_deg"), dra_deg_per_sol=col("dra_deg_per_sol"),
            ddec_deg_per_sol=col("ddec_deg_per_sol"), v_g_kms=col("v_g_kms"),
            radius_deg=col("radiant_spread_deg"),
        )  # fmt: skip

    @classmethod
    def from_iau_mdc(
        cls,
        source: str | Path | Iterable[IauShowerSolution],
        *,
        radius_deg: float = MDC_RADIUS_DEG,
        sol_window_deg: float = MDC_SOL_WINDOW_DEG,
        include_removed: bool = False,
        established_only: bool = False,
    ) -> ShowerReference:
        """From the IAU MDC list: a ``streamfulldata.csv`` path (read with ``load_iau_mdc``) or its
        parsed solutions. Every solution with a finite solar longitude, radiant and v_g becomes one
        entry (a shower with several published solutions has several); a missing drift counts as 0.
        Solutions with a negative status (removed from the list) are left out unless
        ``include_removed``; ``established_only`` keeps status 1 only."""
        sols = load_iau_mdc(source) if isinstance(source, str | Path) else list(source)
        if not (radius_deg > 0 and sol_window_deg > 0):
            raise ValueError("radius_deg and sol_window_deg must be positive")
        keep = []
        for s in sols:
            if not np.all(np.isfinite([s.sol_deg, s.ra_deg, s.dec_deg, s.v_g_kms])) or s.v_g_kms <= 0:
                continue
            if established_only and s.status != 1:
                continue
            if not include_removed and s.status is not None and s.status < 0:
                continue
            keep.append(s)
        if not keep:
            raise ValueError("IAU MDC list: no usable solution (finite solar longitude, radiant and v_g)")
        n = len(keep)

        def col(attr, dtype=float):
            return np.array([getattr(s, attr) for s in keep], dtype=dtype)

        sol = col("sol_deg") % 360.0
        return cls(
            code=col("code", object), name=col("name", object), iau_no=col("iau_no", int),
            sol_peak_deg=sol, sol_begin_deg=sol, sol_end_deg=sol,
            sol_margin_deg=np.full(n, float(sol_window_deg)),
            ra_deg=col("ra_deg") % 360.0, dec_deg=col("dec_deg"),
            dra_deg_per_sol=np.nan_to_num(col("dra_deg_per_sol")),
            ddec_deg_per_sol=np.nan_to_num(col("ddec_deg_per_sol")),
            v_g_kms=col("v_g_kms"), radius_deg=np.full(n, float(radius_deg)),
        )  # fmt: skip


def _reference(showers) -> ShowerReference:
    if isinstance(showers, ShowerReference):
        return showers
    if showers is None:
        return _default_reference()
    items = list(showers.values()) if isinstance(showers, Mapping) else list(showers)
    if items and all(isinstance(s, IauShowerSolution) for s in items):
        return ShowerReference.from_iau_mdc(items)
    if items and all(isinstance(s, Shower) for s in items):
        return ShowerReference.from_showers(items)
    raise ValueError(
        "showers: give None (the project's table), a ShowerReference, Shower records or IAU MDC solutions"
    )


_DEFAULT: list[ShowerReference] = []


def _default_reference() -> ShowerReference:
    if not _DEFAULT:
        _DEFAULT.append(ShowerReference.from_showers())
    return _DEFAULT[0]


def _inputs(ra_g_deg, dec_g_deg, v_g_kms, sol_deg) -> tuple[np.ndarray, ...]:
    arrays = [np.atleast_1d(np.asarray(x, float)) for x in (ra_g_deg, dec_g_deg, v_g_kms, sol_deg)]
    for name, a in zip(("ra_g_deg", "dec_g_deg", "v_g_kms", "sol_deg"), arrays, strict=True):
        if a.ndim != 1:
            raise ValueError(f"{name}: expected a number or a 1-D array, got shape {a.shape}")
    try:
        return np.broadcast_arrays(*arrays)
    except ValueError as exc:
        raise ValueError(f"ra_g_deg, dec_g_deg, v_g_kms, sol_deg: lengths do not match ({exc})") from exc


def _match(ra, dec, v_g, sol, ref: ShowerReference, max_dv: float):
    """Per meteor (N,) the index of the best shower (-1: none) and the (N, S) distance terms."""
    sol = sol[:, None]
    sol_off = _wrap180(sol - ref.sol_peak_deg)
    span = (ref.sol_end_deg - ref.sol_begin_deg) % 360.0
    x = (sol - ref.sol_begin_deg) % 360.0
    outside = np.where(x <= span, 0.0, np.minimum(x - span, 360.0 - x))
    sol_ok = outside <= ref.sol_margin_deg
    ra_s = np.radians(ref.ra_deg + ref.dra_deg_per_sol * sol_off)
    dec_s = np.radians(np.clip(ref.dec_deg + ref.ddec_deg_per_sol * sol_off, -90.0, 90.0))
    ra_m, dec_m = np.radians(ra[:, None]), np.radians(dec[:, None])
    cos_d = np.sin(dec_m) * np.sin(dec_s) + np.cos(dec_m) * np.cos(dec_s) * np.cos(ra_m - ra_s)
    dist = np.degrees(np.arccos(np.clip(cos_d, -1.0, 1.0)))
    dv = (v_g[:, None] - ref.v_g_kms) / ref.v_g_kms
    ok = sol_ok & (dist <= ref.radius_deg) & (np.abs(dv) <= max_dv)
    with np.errstate(divide="ignore", invalid="ignore"):
        sol_term = np.where(ref.sol_margin_deg > 0, outside / ref.sol_margin_deg, 0.0)
    score = np.where(ok, dist / ref.radius_deg + np.abs(dv) / max_dv + sol_term, np.inf)
    best = np.argmin(score, axis=1)
    best = np.where(np.isfinite(score[np.arange(len(best)), best]), best, -1)
    return best, dist, dv, sol_off, score


def _check(ra, dec, v_g, sol, max_dv_g_fraction: float) -> None:
    for name, a in (("ra_g_deg", ra), ("dec_g_deg", dec), ("v_g_kms", v_g), ("sol_deg", sol)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name}: values must be finite")
    if np.any(np.abs(dec) > 90.0):
        raise ValueError("dec_g_deg: values must lie in -90..90 deg")
    if np.any(v_g <= 0):
        raise ValueError("v_g_kms: values must be positive")
    if not max_dv_g_fraction > 0:
        raise ValueError(f"max_dv_g_fraction: {max_dv_g_fraction} must be positive")


def associate(
    ra_g_deg: float,
    dec_g_deg: float,
    v_g_kms: float,
    sol_deg: float,
    *,
    showers=None,
    max_dv_g_fraction: float = MAX_DV_G_FRACTION,
) -> ShowerMatch | None:
    """The shower of a meteor with geocentric radiant (ra_g_deg, dec_g_deg; J2000, deg), geocentric
    speed v_g_kms (km/s) at solar longitude sol_deg (J2000, deg), or None for a sporadic.

    showers: None (the project's table), a ``ShowerReference``, or ``Shower`` / ``IauShowerSolution``
    records. Criteria and ranking: see the module docstring. ValueError for NaN or impossible input.
    """
    ra, dec, v_g, sol = _inputs(ra_g_deg, dec_g_deg, v_g_kms, sol_deg)
    if ra.size != 1:
        raise ValueError("associate: give one meteor (use associate_many for Monte Carlo runs)")
    _check(ra, dec, v_g, sol, max_dv_g_fraction)
    ref = _reference(showers)
    best, dist, dv, sol_off, score = _match(ra, dec, v_g, sol, ref, max_dv_g_fraction)
    k = int(best[0])
    if k < 0:
        return None
    return ShowerMatch(
        code=str(ref.code[k]),
        name=str(ref.name[k]),
        iau_no=int(ref.iau_no[k]),
        radiant_distance_deg=float(dist[0, k]),
        dv_g_fraction=float(dv[0, k]),
        sol_offset_deg=float(sol_off[0, k]),
        score=float(score[0, k]),
    )


def associate_many(
    ra_g_deg,
    dec_g_deg,
    v_g_kms,
    sol_deg,
    *,
    showers=None,
    max_dv_g_fraction: float = MAX_DV_G_FRACTION,
) -> dict[str, float]:
    """Fraction of meteors (typically the Monte Carlo runs of one event) associated with each shower.

    Inputs: 1-D arrays of the same length (or scalars, broadcast), as ``associate``. Returns
    {code: fraction}, including ``SPORADIC`` ("SPO") for runs with no shower, sorted by fraction
    (largest first); the fractions sum to 1. Runs with a non-finite value are left out of the
    count (ValueError if none is left).
    """
    ra, dec, v_g, sol = _inputs(ra_g_deg, dec_g_deg, v_g_kms, sol_deg)
    finite = np.isfinite(ra) & np.isfinite(dec) & np.isfinite(v_g) & np.isfinite(sol)
    if not np.any(finite):
        raise ValueError("associate_many: no run with finite ra_g_deg, dec_g_deg, v_g_kms and sol_deg")
    ra, dec, v_g, sol = ra[finite], dec[finite], v_g[finite], sol[finite]
    _check(ra, dec, v_g, sol, max_dv_g_fraction)
    ref = _reference(showers)
    best, *_ = _match(ra, dec, v_g, sol, ref, max_dv_g_fraction)
    codes = np.where(best >= 0, ref.code[np.maximum(best, 0)], SPORADIC)
    names, counts = np.unique(codes.astype(str), return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return {str(names[i]): float(counts[i]) / codes.size for i in order}
