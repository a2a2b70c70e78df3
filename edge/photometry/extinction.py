"""Atmospheric extinction: how much air a line of sight crosses, and the light it loses.

V-band extinction at a good site is 0.2 to 0.3 mag per airmass (more in haze); the photometric
fit of each event measures it, the simulator applies it.
"""

from __future__ import annotations

import numpy as np

DEFAULT_K_V_MAG = 0.25  # V extinction per airmass at a good site


def airmass(alt_deg) -> np.ndarray:
    """Kasten & Young (1989) relative airmass at apparent altitude(s), good to the horizon;
    infinite below -1.6 deg, where the formula stops."""
    alt = np.asarray(alt_deg, float)
    z = 90.0 - alt
    with np.errstate(invalid="ignore", divide="ignore"):
        x = 1.0 / (np.cos(np.radians(z)) + 0.50572 * np.power(np.maximum(96.07995 - z, 1e-9), -1.6364))
    return np.where(alt > -1.6, x, np.inf)


def extincted_mag(mag, alt_deg, k_mag: float = DEFAULT_K_V_MAG) -> np.ndarray:
    """Magnitude seen from the ground of a source of above-atmosphere magnitude `mag` at alt_deg."""
    return np.asarray(mag, float) + k_mag * airmass(alt_deg)
