"""Network planning: where a station's cameras see on the sky and on the meteor layer, how much of the
layer two or more stations can triangulate, how many meteors per hour that gives, and how to point a
new station's cameras. `skytrail plan ...` drives it (edge/plan/cli.py); hardware/ documents it.
"""

from edge.plan.coverage import Coverage, LayerGrid, network_coverage, sky_fov
from edge.plan.network import PlanCamera, PlanStation, head_cameras, load_stations, m3_beijing_network
from edge.plan.rates import multistation_rate_per_h
from edge.plan.suggest import Suggestion, suggest_pointings

__all__ = [
    "Coverage",
    "LayerGrid",
    "PlanCamera",
    "PlanStation",
    "Suggestion",
    "head_cameras",
    "load_stations",
    "m3_beijing_network",
    "multistation_rate_per_h",
    "network_coverage",
    "sky_fov",
    "suggest_pointings",
]
