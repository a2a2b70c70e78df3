"""Meteor-shower association of solved meteors against the project's table or the IAU MDC list.

    from cloud_bridge.showers import associate, associate_many
    match = associate(orbit.ra_g_deg, orbit.dec_g_deg, orbit.v_g_kms, orbit.solar_longitude_deg)
    confidence = associate_many(runs.ra_g_deg, runs.dec_g_deg, runs.v_g_kms, runs.solar_longitude_deg)

Criteria: ``association.py``'s module docstring.
"""

from cloud_bridge.showers.association import (
    MAX_DV_G_FRACTION,
    MDC_RADIUS_DEG,
    MDC_SOL_WINDOW_DEG,
    SOL_MARGIN_DEG,
    SPORADIC,
    ShowerMatch,
    ShowerReference,
    associate,
    associate_many,
)

__all__ = [
    "MAX_DV_G_FRACTION", "MDC_RADIUS_DEG", "MDC_SOL_WINDOW_DEG", "SOL_MARGIN_DEG", "SPORADIC", "ShowerMatch",
    "ShowerReference", "associate", "associate_many",
]  # fmt: skip
