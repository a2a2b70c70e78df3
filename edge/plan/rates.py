"""Expected hourly number of meteors a network triangulates, from a shower's zenithal hourly rate.

Model (stated so it can be checked):
1. Flux from ZHR (Koschack & Rendtel 1990, WGN 18): meteoroids producing meteors of absolute
   magnitude <= +6.5, per km2 of the layer per hour, with the radiant at the zenith:
   Q_6.5 = ZHR (13.1 r - 16.5) (r - 1.3)^0.748 / 37,200 km2  (r: population index, valid ~1.5..4).
2. Brighter than absolute magnitude M: Q(M) = Q_6.5 r^(M - 6.5).
3. A camera records meteors to apparent magnitude `lim_mag` (about +1 for the M3 8 mm camera,
   docs/FACTS) as seen near the zenith. At a cell seen at elevation h and range R, the absolute
   limit is M = lim_mag - k (X(h) - 1) - 5 log10(R / 100 km), with X the Kasten-Young airmass and k
   the extinction per airmass.
4. A cell counts for the best station pair that sees it with a usable convergence angle; its
   limit is the fainter-limited (brighter M) of the two stations.
5. The radiant at elevation h_R projects the layer's area by sin(h_R) (1 at the zenith, the ZHR's
   reference). Meteors are points at the layer height: track length and begin/end heights are left out.
Counts are expected values per hour (Poisson mean), not a detection-efficiency model.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from edge.photometry.extinction import DEFAULT_K_V_MAG, airmass
from edge.plan.coverage import Coverage, convergence_deg

DEFAULT_LIM_MAG = 1.0  # apparent meteor limiting magnitude of the M3 8 mm camera


def flux_6p5_per_km2_h(zhr: float, r: float) -> float:
    """Koschack & Rendtel flux of meteoroids down to absolute magnitude +6.5, km^-2 h^-1."""
    if not (zhr >= 0 and math.isfinite(zhr)):
        raise ValueError(f"zhr: {zhr} must be a finite number >= 0")
    if not 1.5 <= r <= 4.0:
        raise ValueError(f"population index r: {r} is outside 1.5..4 (where the flux formula holds)")
    return zhr * (13.1 * r - 16.5) * (r - 1.3) ** 0.748 / 37200.0


def limiting_abs_mag(lim_mag: float, alt_deg, range_km, k_mag: float = DEFAULT_K_V_MAG) -> np.ndarray:
    """Faintest absolute magnitude recorded at elevation alt_deg and range range_km."""
    return lim_mag - k_mag * (airmass(alt_deg) - 1.0) - 5.0 * np.log10(np.asarray(range_km, float) / 100.0)


def multistation_rate_per_h(
    coverage: Coverage,
    *,
    zhr: float,
    r: float = 2.5,
    lim_mag: float = DEFAULT_LIM_MAG,
    k_mag: float = DEFAULT_K_V_MAG,
    radiant_alt_deg: float = 90.0,
) -> dict:
    """Expected triangulated meteors per hour over the coverage's triangulable cells (model above)."""
    if not 0.0 < radiant_alt_deg <= 90.0:
        raise ValueError(
            f"radiant_alt_deg: {radiant_alt_deg} must be in (0, 90]: a radiant below the horizon gives none"
        )
    q65 = flux_6p5_per_km2_h(zhr, r)
    best_m = np.full(coverage.grid.shape, -np.inf)
    limits = [limiting_abs_mag(lim_mag, v.alt_deg, v.range_km, k_mag) for v in coverage.views]
    for (a, ma), (b, mb) in itertools.combinations(zip(coverage.views, limits, strict=True), 2):
        both = a.seen & b.seen
        ok = np.zeros_like(both)
        ok[both] = convergence_deg(a.los[both], b.los[both]) >= coverage.min_convergence_deg
        best_m = np.where(ok, np.maximum(best_m, np.minimum(ma, mb)), best_m)
    usable = np.isfinite(best_m)
    per_cell = np.zeros(coverage.grid.shape)
    per_cell[usable] = q65 * r ** (best_m[usable] - 6.5) * coverage.grid.area_km2[usable]
    rate = float(per_cell.sum() * math.sin(math.radians(radiant_alt_deg)))
    return {
        "zhr": zhr,
        "population_index": r,
        "lim_mag": lim_mag,
        "extinction_mag_per_airmass": k_mag,
        "radiant_alt_deg": radiant_alt_deg,
        "flux_6p5_per_1000km2_h": round(q65 * 1000.0, 4),
        "median_limiting_abs_mag": round(float(np.median(best_m[usable])), 2) if usable.any() else None,
        "multistation_meteors_per_h": round(rate, 2),
    }
