"""Pointings for a new station's cameras that maximise the area it shares with its neighbours.

Inputs: the neighbours (`PlanStation`s with their cameras as built) and the new station's place,
number of cameras and profile. The objective is the ground area of the layer (km2, at
`height_km`) that the new station sees together with at least one neighbour, with a convergence
angle of at least `min_convergence_deg` between the two lines of sight: that is where a meteor it
records can be triangulated.

Search: (1) the whole head turned in azimuth (steps of `az_step_deg` over one camera spacing) and
tilted (every `alt_step_deg` between `alt_range_deg`), all cameras at one elevation; (2) coordinate
descent on each camera's azimuth and elevation with halving steps. The naive layout (the nearest
neighbour's own azimuths and elevations, "same azimuths") is always a candidate, so the answer is
never worse than it on the grid used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge.camera.profiles import CameraProfile
from edge.plan.coverage import (
    DEFAULT_HEIGHT_KM,
    DEFAULT_MIN_CONVERGENCE_DEG,
    LayerGrid,
    StationGeometry,
    convergence_deg,
)
from edge.plan.network import PlanCamera, PlanStation, distance_km, head_cameras


@dataclass(frozen=True)
class Suggestion:
    """The suggested head, its shared area and the naive layout's, in km2."""

    station: PlanStation
    overlap_km2: float
    naive: PlanStation
    naive_overlap_km2: float
    evaluations: int

    def to_dict(self) -> dict:
        def cams(s: PlanStation) -> list[dict]:
            return [
                {"camera_id": c.camera_id, "az_deg": round(c.az_deg, 1), "alt_deg": round(c.alt_deg, 1)}
                for c in s.cameras
            ]

        return {
            "station_id": self.station.station_id,
            "lat_deg": self.station.lat_deg,
            "lon_deg": self.station.lon_deg,
            "profile": self.station.cameras[0].profile.name,
            "suggested": cams(self.station),
            "suggested_overlap_km2": round(self.overlap_km2),
            "naive_same_azimuths": cams(self.naive),
            "naive_overlap_km2": round(self.naive_overlap_km2),
            "gain_percent": round(100.0 * (self.overlap_km2 / max(self.naive_overlap_km2, 1e-9) - 1.0), 1),
            "evaluations": self.evaluations,
        }


class _Objective:
    """Shared area of the new station with its neighbours for a given head (cached geometry)."""

    def __init__(
        self, new: PlanStation, neighbours: Sequence[PlanStation], grid: LayerGrid, min_q: float
    ) -> None:
        self.grid = grid
        self.geom = StationGeometry(new, grid)
        usable = np.zeros(grid.shape, bool)
        for nb in neighbours:
            view = StationGeometry(nb, grid).view()
            both = view.seen & self.geom.above
            ok = np.zeros_like(both)
            ok[both] = convergence_deg(view.los[both], self.geom.los[both]) >= min_q
            usable |= ok
        self.usable = usable  # cells where a neighbour would pair with the new station if it looked there
        self.calls = 0
        self._cache: dict[tuple, np.ndarray] = {}

    def camera_mask(self, cam: PlanCamera) -> np.ndarray:
        key = (round(cam.az_deg, 6), round(cam.alt_deg, 6), round(cam.roll_deg, 6), cam.profile.name)
        if key not in self._cache:
            self._cache[key] = self.geom.camera_mask(cam) & self.usable
        return self._cache[key]

    def __call__(self, cameras: Sequence[PlanCamera]) -> float:
        self.calls += 1
        seen = np.zeros(self.grid.shape, bool)
        for c in cameras:
            seen |= self.camera_mask(c)
        return float(np.sum(self.grid.area_km2[seen]))


def suggest_pointings(
    new: PlanStation,
    neighbours: Sequence[PlanStation],
    *,
    profile: CameraProfile | str | None = None,
    n_cameras: int = 4,
    height_km: float = DEFAULT_HEIGHT_KM,
    min_convergence_deg: float = DEFAULT_MIN_CONVERGENCE_DEG,
    cell_km: float = 10.0,
    az_step_deg: float = 5.0,
    alt_step_deg: float = 5.0,
    alt_range_deg: tuple[float, float] = (25.0, 70.0),
    refine_rounds: int = 3,
) -> Suggestion:
    """Pointings for `new` (its place and min elevation; its cameras, if any, are replaced).

    profile None: the nearest neighbour's camera profile. Returns the best head found and the
    naive head (the nearest neighbour's azimuths and elevations copied) with both overlaps.
    """
    if not neighbours:
        raise ValueError("suggest: give at least one neighbouring station")
    if any(nb.ideal for nb in neighbours):
        raise ValueError("suggest: neighbours need their cameras listed (an ideal station has none)")
    nearest = min(neighbours, key=lambda s: distance_km(new, s))
    prof = profile if profile is not None else nearest.cameras[0].profile
    if isinstance(prof, str):
        from edge.camera.profiles import get_profile

        prof = get_profile(prof)
    grid = LayerGrid.around([new, *neighbours], cell_km=cell_km, height_km=height_km)
    objective = _Objective(new, neighbours, grid, min_convergence_deg)

    # the naive head: the nearest neighbour's pointings, in order, as many as the new station has cameras
    src = list(nearest.cameras)
    naive = tuple(
        PlanCamera(
            f"cam{j + 1}",
            prof,
            src[j % len(src)].az_deg,
            src[j % len(src)].alt_deg,
            src[j % len(src)].roll_deg,
        )
        for j in range(n_cameras)
    )
    best, best_val = naive, objective(naive)
    naive_val = best_val

    # (1) turn and tilt the whole head
    spacing = 360.0 / n_cameras
    alts = np.arange(alt_range_deg[0], alt_range_deg[1] + 1e-9, alt_step_deg)
    for turn in np.arange(0.0, spacing, az_step_deg):
        for alt in alts:
            cams = head_cameras(prof, n_cameras, first_az_deg=float(turn), alt_deg=float(alt))
            val = objective(cams)
            if val > best_val:
                best, best_val = cams, val

    # (2) coordinate descent per camera
    steps = [(az_step_deg, alt_step_deg)]
    for _ in range(refine_rounds - 1):
        steps.append((steps[-1][0] / 2, steps[-1][1] / 2))
    for d_az, d_alt in steps:
        improved = True
        while improved:
            improved = False
            for j in range(n_cameras):
                for da, dh in ((d_az, 0), (-d_az, 0), (0, d_alt), (0, -d_alt)):
                    c = best[j]
                    alt = min(max(c.alt_deg + dh, 0.0), 90.0)
                    trial = list(best)
                    trial[j] = c.pointed(c.az_deg + da, alt)
                    val = objective(trial)
                    if val > best_val + 1e-6:
                        best, best_val, improved = tuple(trial), val, True
    return Suggestion(new.with_cameras(best), best_val, new.with_cameras(naive), naive_val, objective.calls)
