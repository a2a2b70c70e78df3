"""The straight-line part of the trajectory: station planes, their intersection, and the line fit.

Each station sees the meteor's straight track inside one plane through the station (its lines of
sight span it); two stations' planes meet in the track (the method of Ceplecha 1987, used to seed
Vida et al. 2020). The refined line minimises, over every line of sight, its angular distance
from the plane through its site and the line: the cross-track residual, which depends on the
line only (the along-track residual carries the timing and is fitted in kinematics.py).

Vectors are ECEF metres; the line is a point `p` (m) and a unit direction `d` (of motion).
"""

from __future__ import annotations

import numpy as np

from cloud_bridge.trajectory.lm import levenberg_marquardt


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def plane_normal(los: np.ndarray) -> np.ndarray:
    """Unit normal of the plane through the origin best containing unit vectors `los` (N, 3)."""
    return np.linalg.svd(np.asarray(los, float), full_matrices=False)[2][-1]


def plane_angle_deg(n1: np.ndarray, n2: np.ndarray) -> float:
    """Angle (0..90 deg) between two planes given by their normals: the convergence angle."""
    c = abs(float(np.dot(n1, n2)))
    return float(np.degrees(np.arccos(min(c, 1.0))))


def intersect_planes(n1, s1, n2, s2) -> tuple[np.ndarray, np.ndarray]:
    """The line where the plane through point s1 with normal n1 meets the one through s2 with n2:
    (point nearest the midpoint of s1 and s2, unit direction; sign arbitrary)."""
    d = unit(np.cross(n1, n2))
    a = np.array([n1, n2, d])
    b = np.array([n1 @ s1, n2 @ s2, d @ (0.5 * (s1 + s2))])
    return np.linalg.solve(a, b), d


def tangent_basis(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to unit vector(s) `d` (..., 3) and to each other."""
    ref = np.where(np.abs(d[..., 2:3]) < 0.9, np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]))
    e1 = unit(np.cross(d, ref))
    return e1, np.cross(d, e1)


class LineParams:
    """Parameters (a, b, c_km, d_km) of a line near a reference line (p0, d0): direction
    unit(d0 + a e1 + b e2) and point p0 + 1000 (c e1 + d e2)."""

    step = np.array([1e-7, 1e-7, 1e-4, 1e-4])

    def __init__(self, p0: np.ndarray, d0: np.ndarray) -> None:
        self.p0, self.d0 = np.asarray(p0, float), unit(np.asarray(d0, float))
        self.e1, self.e2 = tangent_basis(self.d0)

    def line(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(p, d) of shape (R, 3) each for parameters x (R, 4)."""
        d = unit(self.d0 + x[:, :1] * self.e1 + x[:, 1:2] * self.e2)
        p = self.p0 + 1000.0 * (x[:, 2:3] * self.e1 + x[:, 3:4] * self.e2)
        return p, d


def cross_track_sin(p: np.ndarray, d: np.ndarray, sites: np.ndarray, los: np.ndarray) -> np.ndarray:
    """Sine of the angle between each line of sight and the plane through its site and the line.

    p, d: (R, 3); sites, los: (R or 1, M, 3) per line of sight. Returns (R, M)."""
    n = unit(np.cross(d[:, None, :], p[:, None, :] - sites))
    return np.sum(los * n, axis=-1)


def fit_line(
    p0: np.ndarray,
    d0: np.ndarray,
    sites: np.ndarray,
    los: np.ndarray,
    weights: np.ndarray,
    *,
    max_iter: int = 30,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares line through lines of sight, for R data sets at once.

    sites: (M, 3); los: (R, M, 3); weights: (M,) (1/sigma in radians). Starts from (p0, d0).
    Returns p (R, 3), d (R, 3), cross-track residuals (R, M) in radians.
    """
    params = LineParams(p0, d0)
    n_sets = los.shape[0]

    def residuals(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        p, d = params.line(x)
        lv = los[rows] if n_sets > 1 else los
        return cross_track_sin(p, d, sites[None], lv) * weights

    res = levenberg_marquardt(residuals, np.zeros((n_sets, 4)), LineParams.step, max_iter=max_iter)
    p, d = params.line(res.x)
    return p, d, np.arcsin(np.clip(cross_track_sin(p, d, sites[None], los), -1, 1))


def closest_points_on_line(
    p: np.ndarray, d: np.ndarray, sites: np.ndarray, los: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Along-track position s (m from p along d) of the point of the line nearest each line of
    sight, and the distance along the line of sight to it (negative: behind the camera).

    p, d: (R, 3); sites: (M, 3); los: (R, M, 3). Returns (s, lam), each (R, M)."""
    w = sites[None] - p[:, None, :]  # from p to the site
    b = np.sum(los * d[:, None, :], axis=-1)  # cos of angle between line of sight and line
    dw = np.sum(w * d[:, None, :], axis=-1)
    uw = np.sum(w * los, axis=-1)
    denom = np.maximum(1.0 - b * b, 1e-12)
    s = (dw - b * uw) / denom
    lam = (b * dw - uw) / denom
    return s, lam
