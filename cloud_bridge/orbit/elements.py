"""Keplerian elements of a heliocentric state vector (position, velocity), vectorised over rows.

What it is for: ``cloud_bridge.orbit.heliocentric`` builds the meteoroid's heliocentric state on
the axes of the ecliptic and equinox of J2000 and calls ``state_to_elements`` with the Sun's
GM; the result feeds the ``Orbit`` record. Inputs: position in AU and velocity in AU/day (or any
consistent units with ``gm`` to match), shape (3,) or (R, 3).

Conic formulas (e.g. Vallado, "Fundamentals of Astrodynamics", algorithm RV2COE), written with
``arctan2`` so that they stay accurate near 0 and 180 deg:
- angular momentum h = r x v, node vector n = z x h, eccentricity vector
  e = v x h / GM - r / |r|; specific energy E = v^2/2 - GM/|r|, 1/a = -2E/GM;
- semi-latus rectum p = h^2/GM, q = p / (1 + e) (good for every e), Q = p / (1 - e) for e < 1;
- hyperbolic orbits (e > 1) give a < 0, parabolic (1/a = 0) a = inf; Q and the period are NaN
  for both; the mean anomaly is the hyperbolic one (e sinh H - H) or Barker's (D + D^3/3);
- for i = 0 or 180 deg (no node) the node is set to 0 and the argument of perihelion becomes the
  longitude of perihelion; for e = 0 (no perihelion) peri is 0 and the true anomaly is counted
  from the node (neither happens for real meteoroids, but nothing divides by zero).
Tisserand's parameter with respect to Jupiter, T_J = a_J/a + 2 cos i sqrt(a (1 - e^2) / a_J),
is written with 1/a and p so that it is defined for hyperbolic orbits too.
"""

from __future__ import annotations

import numpy as np

__all__ = ["A_JUPITER_AU", "state_to_elements", "tisserand_jupiter"]

A_JUPITER_AU = 5.2043
"""Jupiter's semi-major axis used for the Tisserand parameter, AU (as in Vida et al. 2020)."""

_TINY = 1e-12  # relative size below which the node or eccentricity vector is taken as zero
_PARABOLIC_E = 1e-10  # |e - 1| below this is a parabola: Q and the period are NaN


def _norm(v: np.ndarray) -> np.ndarray:
    return np.linalg.norm(v, axis=-1)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1)


def _angle_in_plane(frm: np.ndarray, to: np.ndarray, normal_unit: np.ndarray) -> np.ndarray:
    """Angle (rad, 0..2 pi) from vector ``frm`` to ``to`` measured positively about ``normal_unit``."""
    return np.arctan2(_dot(np.cross(frm, to), normal_unit), _dot(frm, to)) % (2.0 * np.pi)


def tisserand_jupiter(inv_a_per_au, p_au, incl_rad, a_jupiter_au: float = A_JUPITER_AU) -> np.ndarray:
    """Tisserand parameter w.r.t. Jupiter from 1/a (1/AU), the semi-latus rectum p = a (1 - e^2)
    (AU) and the inclination (rad): a_J / a + 2 cos i sqrt(p / a_J). Valid for any e."""
    return a_jupiter_au * np.asarray(inv_a_per_au) + 2.0 * np.cos(incl_rad) * np.sqrt(
        np.asarray(p_au) / a_jupiter_au
    )


def state_to_elements(r, v, gm) -> dict[str, np.ndarray]:
    """Osculating Keplerian elements of state(s) ``r`` (AU), ``v`` (AU/day), shape (..., 3), about a
    body with gravitational parameter ``gm`` (AU^3/day^2).

    Returns a dict of arrays of the leading shape: ``a_au`` (negative: hyperbolic, inf: parabolic),
    ``inv_a_per_au``, ``e``, ``i_deg``, ``node_deg``, ``peri_deg``, ``q_au``, ``Q_au`` (NaN if
    e >= 1 - 1e-10), ``p_au``, ``true_anomaly_deg``, ``mean_anomaly_deg`` (0..360 for ellipses; signed
    hyperbolic/parabolic mean anomaly otherwise), ``period_days`` (NaN if e >= 1),
    ``tisserand_j``. Angles in degrees, 0..360 (i in 0..180). No validation (callers check).
    """
    r = np.asarray(r, float)
    v = np.asarray(v, float)
    r, v = np.broadcast_arrays(r, v)
    r_norm = _norm(r)
    h = np.cross(r, v)
    h_norm = _norm(h)
    h_unit = h / h_norm[..., None]
    e_vec = np.cross(v, h) / gm - r / r_norm[..., None]
    e = _norm(e_vec)
    inv_a = 2.0 / r_norm - _dot(v, v) / gm
    with np.errstate(divide="ignore"):
        a = np.where(inv_a != 0.0, 1.0 / np.where(inv_a != 0.0, inv_a, 1.0), np.inf)
    p = h_norm**2 / gm
    q = p / (1.0 + e)
    elliptic = e < 1.0 - _PARABOLIC_E  # closer to 1 is a parabola within rounding
    with np.errstate(divide="ignore", invalid="ignore"):
        big_q = np.where(elliptic, p / (1.0 - e), np.nan)
        period = np.where(elliptic & (inv_a > 0), 2.0 * np.pi * np.sqrt(np.abs(a) ** 3 / gm), np.nan)

    incl = np.arctan2(np.hypot(h[..., 0], h[..., 1]), h[..., 2])
    n = np.stack([-h[..., 1], h[..., 0], np.zeros_like(h[..., 0])], axis=-1)  # z x h
    has_node = _norm(n) > _TINY * h_norm
    x_axis = np.broadcast_to(np.array([1.0, 0.0, 0.0]), n.shape)
    node_dir = np.where(has_node[..., None], n, x_axis)  # no node: count from the x axis
    node = np.where(has_node, np.arctan2(n[..., 1], n[..., 0]) % (2.0 * np.pi), 0.0)
    has_peri = e > _TINY
    peri_dir = np.where(has_peri[..., None], e_vec, node_dir)
    peri = np.where(has_peri, _angle_in_plane(node_dir, peri_dir, h_unit), 0.0)
    nu = _angle_in_plane(peri_dir, r, h_unit)

    # mean anomaly: elliptic, hyperbolic or parabolic (Barker)
    with np.errstate(invalid="ignore", divide="ignore"):
        ecc_anom = np.arctan2(np.sqrt(np.clip(1.0 - e**2, 0.0, None)) * np.sin(nu), e + np.cos(nu))
        m_ell = (ecc_anom - e * np.sin(ecc_anom)) % (2.0 * np.pi)
        nu_s = (nu + np.pi) % (2.0 * np.pi) - np.pi  # signed true anomaly for open orbits
        t_half = np.tan(0.5 * nu_s)
        hyp_anom = 2.0 * np.arctanh(np.sqrt(np.clip((e - 1.0) / (e + 1.0), 0.0, None)) * t_half)
        m_hyp = e * np.sinh(hyp_anom) - hyp_anom
        m_par = t_half + t_half**3 / 3.0
    mean_anom = np.where(elliptic, m_ell, np.where(e > 1.0, m_hyp, m_par))

    return {
        "a_au": a,
        "inv_a_per_au": inv_a,
        "e": e,
        "i_deg": np.degrees(incl),
        "node_deg": np.degrees(node),
        "peri_deg": np.degrees(peri),
        "q_au": q,
        "Q_au": big_q,
        "p_au": p,
        "true_anomaly_deg": np.degrees(nu),
        "mean_anomaly_deg": np.degrees(mean_anom),
        "period_days": period,
        "tisserand_j": tisserand_jupiter(inv_a, p, incl),
    }
