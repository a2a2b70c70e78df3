"""Grouping observation reports of one meteor from different stations and cameras (before triangulation).

Input: `ObservationReport`s (edge/protocol/models.py) received by the bridge. Two reports are
compatible when they come from different cameras, their frame times overlap (within
`max_time_gap_s`, which also covers clock offsets), and their geometry agrees:

- different stations: the lines of sight of each report, cut with the other station's plane (the
  plane through its site containing its lines of sight), meet it in front of both cameras at
  meteor heights (15 to 200 km), and seen from the other station those points fall inside the arc
  it observed (with a margin). Planes closer than 1 deg give no crossing; such pairs are accepted
  when the two planes agree (a meteor along the baseline) but solving will report poor geometry.
- the same station (two cameras): both reports lie in one plane through the station.

Groups are built greedily from the best-agreeing pairs, and a group never holds two reports of one
camera. The output order is deterministic: groups by first frame time, reports by station, camera,
observation id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cloud_bridge.trajectory.geometry import plane_angle_deg, plane_normal
from cloud_bridge.trajectory.observations import lines_of_sight_from_report, report_time_unix
from edge.geometry.earth import ecef_to_geodetic
from edge.protocol.models import ObservationReport

HEIGHT_RANGE_M = (15e3, 200e3)
ARC_MARGIN_DEG = 2.0
SAME_PLANE_DEG = 1.0
MIN_CONSISTENT_FRACTION = 0.6


@dataclass
class EventGroup:
    """Reports believed to show one meteor."""

    reports: list[ObservationReport]
    station_ids: list[str]
    multi_station: bool
    reason: list[str] = field(default_factory=list)  # why reports were left single, or notes


@dataclass
class _Item:
    report: ObservationReport
    t: np.ndarray  # POSIX seconds
    site: np.ndarray | None = None
    los: np.ndarray | None = None
    normal: np.ndarray | None = None
    problem: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.report.station_id, self.report.camera_id


def _prepare(report: ObservationReport) -> _Item:
    t = report_time_unix(report)
    item = _Item(report, t)
    try:
        los = lines_of_sight_from_report(report, float(t[0]))
    except ValueError as exc:
        item.problem = f"no sky positions ({exc})"
        return item
    item.site, item.los = los.site_ecef_m, los.los_ecef
    item.normal = plane_normal(los.los_ecef)
    return item


def _crossings_agree(a: _Item, b: _Item, max_clock_offset: float) -> tuple[float, str]:
    """Fraction of a's lines of sight that cross b's plane where b could have seen them, and why not.

    All of a's lines of sight must meet b's plane at meteor heights; those taken while b was
    certainly observing, whatever the clock offset between the stations (up to
    `max_clock_offset`), must also fall inside b's observed arc. Long fireballs are often seen
    by each station over a different part of the track."""
    denom = a.los @ b.normal
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = ((b.site - a.site) @ b.normal) / denom
    pts = a.site + lam[:, None] * a.los
    ok = np.isfinite(lam) & (lam > 0)
    if not ok.any():
        return 0.0, "lines of sight do not cross the other station's plane in front of the camera"
    h = np.full(len(lam), np.nan)
    h[ok] = ecef_to_geodetic(pts[ok])[2]
    ok &= (h >= HEIGHT_RANGE_M[0]) & (h <= HEIGHT_RANGE_M[1])
    if not ok.any():
        return 0.0, "lines of sight meet the other station's plane outside 15-200 km heights"
    # seen from b, the crossing points must lie within b's observed arc (angle along b's plane)
    v = pts - b.site
    front = np.einsum("ij,ij->i", v, b.los.mean(axis=0)[None]) > 0
    ok &= front
    ref = b.los[0]
    perp = np.cross(b.normal, ref)

    def arc_angle(x: np.ndarray) -> np.ndarray:
        return np.degrees(np.arctan2(x @ perp, x @ ref))

    arc = arc_angle(b.los)
    lo, hi = arc.min() - ARC_MARGIN_DEG, arc.max() + ARC_MARGIN_DEG
    ang = arc_angle(v)
    while_b_saw = (a.t >= b.t[0] + max_clock_offset) & (a.t <= b.t[-1] - max_clock_offset)
    ok &= ~while_b_saw | ((ang >= lo) & (ang <= hi))
    frac = float(ok.mean())
    return frac, "" if frac >= MIN_CONSISTENT_FRACTION else "lines of sight do not meet at meteor heights"


def _pair_score(a: _Item, b: _Item, max_gap: float, max_clock_offset: float) -> tuple[float | None, str]:
    """A score (lower is better) when a and b can be one meteor, else None and the reason."""
    gap = max(b.t[0] - a.t[-1], a.t[0] - b.t[-1], 0.0)
    if gap > max_gap:
        return None, f"{gap:.1f} s apart"
    if a.problem or b.problem:
        return None, a.problem or b.problem
    q = plane_angle_deg(a.normal, b.normal)
    if a.report.station_id == b.report.station_id:
        return (gap + q, "") if q < SAME_PLANE_DEG else (None, f"same station, planes {q:.1f} deg apart")
    if q < SAME_PLANE_DEG:
        return gap + 10.0, ""  # coplanar: cannot be checked further, accept weakly
    fa, why_a = _crossings_agree(a, b, max_clock_offset)
    fb, why_b = _crossings_agree(b, a, max_clock_offset)
    if fa < MIN_CONSISTENT_FRACTION or fb < MIN_CONSISTENT_FRACTION:
        return None, why_a or why_b
    return gap + (2.0 - fa - fb), ""


def correlate(
    reports: list[ObservationReport], *, max_time_gap_s: float = 2.0, max_clock_offset_s: float = 0.5
) -> list[EventGroup]:
    """Group reports of one meteor seen by several stations or cameras; see the module docstring."""
    items = sorted((_prepare(r) for r in reports), key=lambda it: (it.t[0], it.report.observation_id))
    n = len(items)
    pairs = []
    notes: dict[int, list[str]] = {i: [] for i in range(n)}
    for i in range(n):
        for j in range(i + 1, n):
            if items[i].key == items[j].key:
                continue
            score, why = _pair_score(items[i], items[j], max_time_gap_s, max_clock_offset_s)
            if score is not None:
                pairs.append((score, i, j))
            elif items[i].report.station_id != items[j].report.station_id and "apart" not in why:
                msg = f"{why} (with {items[j].report.observation_id})"
                notes[i].append(msg)
                notes[j].append(f"{why} (with {items[i].report.observation_id})")
    compatible = {(i, j) for _s, i, j in pairs}
    # greedy union, best pairs first, never two reports of one camera in a group
    group_of = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    for _score, i, j in sorted(pairs):
        gi, gj = group_of[i], group_of[j]
        if gi == gj:
            continue
        keys_i = {items[k].key for k in members[gi]}
        if any(items[k].key in keys_i for k in members[gj]):
            continue
        # every pair across the two groups must agree, so that two meteors are not chained together
        if not all((min(a, b), max(a, b)) in compatible for a in members[gi] for b in members[gj]):
            continue
        for k in members[gj]:
            group_of[k] = gi
        members[gi] += members.pop(gj)
    groups = []
    for idx in sorted(members.values(), key=lambda ms: min(items[k].t[0] for k in ms)):
        ms = sorted(idx, key=lambda k: (items[k].report.station_id, items[k].report.camera_id,
                                        items[k].report.observation_id))  # fmt: skip
        stations = sorted({items[k].report.station_id for k in ms})
        reasons = []
        if len(stations) < 2:
            for k in ms:
                if items[k].problem:
                    reasons.append(f"{items[k].report.observation_id}: {items[k].problem}")
                reasons += [f"{items[k].report.observation_id}: {w}" for w in notes[k]]
            if not reasons:
                reasons.append("no report from another station overlaps in time")
        groups.append(EventGroup([items[k].report for k in ms], stations, len(stations) > 1, reasons))
    return groups
