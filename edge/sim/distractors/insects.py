"""Insects and birds close to the lens: large, blurred, erratic blobs, lit or dark."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge.sim.distractors.common import _seed_for, _sub_times
from edge.sim.render import Canvas, SimCamera, add_gaussians


@dataclass
class _Insect:
    id: str
    t_c: float  # when it passes p_c
    p_c: np.ndarray  # (x, y) px
    speed_px_s: float
    heading0: float  # rad
    turn_rad_s: float
    wobble_amp: float
    wobble_hz: float
    wobble_phase: float
    sigma_px: float
    lit: bool
    mag: float  # lit: total V-equivalent magnitude of the blob
    depth: float  # dark: peak fraction of the light it blocks


class InsectLayer:
    """Insects (or anything) flying close to the lens: far out of focus, a wide blob (sigma 5-30 px)
    darting across the frame on a curving, wobbling path at tens to hundreds of px per frame.
    Lit ones add light on the `near` plane; dark ones block part of the light already on the canvas
    (they multiply `transmission` and `diffuse_e`), so draw this layer last.

    `count` insects per camera, each crossing during the clip; positions are sampled within each
    exposure at steps under a quarter of the blob's sigma (it is smooth, so finer steps change nothing).
    """

    name = "insects"

    def __init__(self, count: int, seed: int, lit_fraction: float = 0.5) -> None:
        if count < 0:
            raise ValueError(f"count: {count} must be >= 0")
        self.count = int(count)
        self.seed = int(seed)
        self.lit_fraction = lit_fraction
        self._items: list[tuple[_Insect, np.ndarray, np.ndarray, np.ndarray, list]] = []

    @staticmethod
    def _path(ins: _Insect, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) px at times t: the heading turns steadily and wobbles; integrated numerically."""
        t = np.asarray(t, float)
        lo, hi = min(float(t.min()), ins.t_c), max(float(t.max()), ins.t_c)
        grid = np.linspace(lo, hi, max(2, int((hi - lo) / 2e-4) + 2))
        s = grid - ins.t_c
        heading = (
            ins.heading0
            + ins.turn_rad_s * s
            + ins.wobble_amp * np.sin(2 * np.pi * ins.wobble_hz * s + ins.wobble_phase)
        )
        vx, vy = ins.speed_px_s * np.cos(heading), ins.speed_px_s * np.sin(heading)
        dt = np.diff(grid)
        px = np.r_[0.0, np.cumsum(0.5 * (vx[1:] + vx[:-1]) * dt)]
        py = np.r_[0.0, np.cumsum(0.5 * (vy[1:] + vy[:-1]) * dt)]
        px -= np.interp(ins.t_c, grid, px)
        py -= np.interp(ins.t_c, grid, py)
        return ins.p_c[0] + np.interp(t, grid, px), ins.p_c[1] + np.interp(t, grid, py)

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        t_mid = np.asarray(t_mid_unix, float)
        h, w = camera.shape
        rng = _seed_for(self.seed, "insects", camera.station_id, camera.camera_id)
        frame_s = 1.0 / camera.profile.fps
        self._items = []
        for i in range(self.count):
            lit = bool(rng.random() < self.lit_fraction)
            ins = _Insect(
                id=f"insect-{camera.station_id}-{camera.camera_id}-{i}",
                t_c=float(rng.uniform(t_mid[0], t_mid[-1])) if len(t_mid) > 1 else float(t_mid[0]),
                p_c=np.array([rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h]),
                speed_px_s=float(rng.uniform(20.0, 200.0)) / frame_s,
                heading0=float(rng.uniform(0, 2 * np.pi)), turn_rad_s=float(rng.uniform(-8.0, 8.0)),
                wobble_amp=float(rng.uniform(0.2, 1.0)), wobble_hz=float(rng.uniform(2.0, 8.0)),
                wobble_phase=float(rng.uniform(0, 2 * np.pi)), sigma_px=float(rng.uniform(5.0, 30.0)),
                lit=lit, mag=float(rng.uniform(-5.0, -2.0)), depth=float(rng.uniform(0.2, 0.7)),
            )  # fmt: skip
            n = int(min(max(2, math.ceil(ins.speed_px_s * exposure_s / (0.25 * ins.sigma_px)) + 1), 200))
            ts = _sub_times(t_mid, exposure_s, n)
            x, y = self._path(ins, ts)
            xm, ym = self._path(ins, t_mid)
            margin = 3.0 * ins.sigma_px
            near = (x > -margin) & (x < w + margin) & (y > -margin) & (y < h + margin)
            seen = camera.model.in_frame(xm, ym)
            e_each = float(camera.profile.electrons(ins.mag, exposure_s / n)) if lit else 0.0
            truth = [
                {"kind": "insect", "id": ins.id, "x_px": float(xm[k]), "y_px": float(ym[k]),
                 "sigma_px": ins.sigma_px, "lit": lit, "mag": ins.mag if lit else None,
                 "blocked_fraction": None if lit else ins.depth}
                if seen[k] else None
                for k in range(len(t_mid))
            ]  # fmt: skip
            x = np.where(near, x, np.nan)
            self._items.append((ins, x, y, np.full(x.shape, e_each), truth))

    def describe(self) -> dict:
        return {"layer": self.name, "per_camera": self.count, "seed": self.seed,
                "lit_fraction": self.lit_fraction}  # fmt: skip

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> list[dict]:
        out = []
        for ins, x, y, e, truth in self._items:
            if np.isfinite(x[k]).any():
                if ins.lit:
                    canvas.add_points(x[k], y[k], e[k], ins.sigma_px, plane="near")
                else:
                    # Peak-normalised blurred silhouette: mean Gaussian profile over the samples.
                    prof = np.zeros(canvas.shape, np.float32)
                    peak = 1.0 / (2.0 * np.pi * ins.sigma_px**2)
                    ok = np.isfinite(x[k])
                    prof_n = ok.sum()
                    weight = np.full(prof_n, 1.0 / (prof_n * peak))
                    add_gaussians(prof, x[k][ok], y[k][ok], weight, ins.sigma_px)
                    keep = 1.0 - ins.depth * np.clip(prof, 0.0, 1.0)
                    canvas.transmission = canvas.transmission * keep
                    canvas.diffuse_e = canvas.diffuse_e * keep
            if truth[k] is not None:
                out.append(truth[k])
        return out
