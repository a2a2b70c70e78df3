"""Heliocentric orbits of meteoroids: geocentric radiant and v_g, Keplerian elements, Tisserand,
and their Monte Carlo spread. See ``orbit.py`` for the steps and ``heliocentric.py`` for the
ephemeris and frames.

    from cloud_bridge.orbit import compute_orbit, orbit_uncertainty
    orbit = compute_orbit(*solution.state_for_orbit())      # floats
    runs = compute_orbit(*solution.mc_states())             # (R,) arrays
    sigmas = orbit_uncertainty(runs)                        # {"q_au": ..., "radiant_deg": ...}
"""

from cloud_bridge.orbit.elements import A_JUPITER_AU, state_to_elements, tisserand_jupiter
from cloud_bridge.orbit.heliocentric import (
    AU_M,
    GM_SUN_AU3_D2,
    GM_SUN_M3_S2,
    earth_heliocentric_state,
    heliocentric_state,
    icrs_to_ecliptic_j2000_matrix,
)
from cloud_bridge.orbit.orbit import Orbit, compute_orbit, orbit_from_geocentric
from cloud_bridge.orbit.uncertainty import WRAPPING_FIELDS, orbit_uncertainty

__all__ = [
    "AU_M", "A_JUPITER_AU", "GM_SUN_AU3_D2", "GM_SUN_M3_S2", "WRAPPING_FIELDS", "Orbit", "compute_orbit",
    "earth_heliocentric_state", "heliocentric_state", "icrs_to_ecliptic_j2000_matrix",
    "orbit_from_geocentric", "orbit_uncertainty", "state_to_elements", "tisserand_jupiter",
]  # fmt: skip
