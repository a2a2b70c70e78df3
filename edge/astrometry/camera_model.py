"""The camera model of the M3 network (Li et al.): a pinhole camera with Brown-Conrady radial distortion.

It maps a pixel of one camera to a direction in the local east-north-up (ENU) frame of its station
and back. Its parameters come from the astrometric fit of catalogue stars (edge.astrometry) or, as a
first guess, from the lens and sensor data sheets via `CameraModel.from_pointing`.

Conventions
-----------
Pixels
    A pixel position is (x_px, y_px) = (column, row). The centre of the top-left pixel is (0, 0), so
    the sensor spans -0.5 .. width_px - 0.5 in x and -0.5 .. height_px - 0.5 in y.
Camera frame
    +Z along the optical axis (out of the lens, toward the sky), +X toward increasing column (image
    right), +Y toward increasing row (image down). It is right-handed.
Projection
    Undistorted normalised coordinates x_u = X/Z, y_u = Y/Z, r^2 = x_u^2 + y_u^2; distorted
    x_d = x_u (1 + k1 r^2 + k2 r^4) (same for y); pixel x = cx_px + focal_px x_d, y = cy_px + focal_px y_d.
Rotation
    `rotation` takes camera-frame vectors to ENU: v_enu = rotation @ v_cam. Its columns are the
    camera's +X, +Y and +Z axes expressed in ENU.
Angles
    Azimuth from north through east, altitude above the horizon, in degrees (as edge.geometry.earth).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.geometry.earth import altaz_to_enu, enu_to_altaz

_ORTHO_TOL = 1e-6
_NEWTON_MAX_ITER = 30
_NEWTON_TOL = 1e-14  # in normalised (tan of angle) units: 1e-14 * focal_px is far below 1e-6 px

_FIELDS = ("width_px", "height_px", "focal_px", "cx_px", "cy_px", "k1", "k2", "rotation")


def rotation_from_pointing(az_deg: float, alt_deg: float, roll_deg: float = 0.0) -> np.ndarray:
    """Camera-to-ENU rotation matrix (3, 3) of a camera whose optical axis points at (az_deg, alt_deg).

    roll_deg = 0: image "up" (-Y) points toward the zenith and image right (+X) is horizontal,
    pointing to azimuth az_deg + 90 (east when looking north).
    roll_deg turns the camera about its optical axis, positive clockwise as seen from behind the
    camera looking out along the axis: at roll_deg = +90 the top of the image points where the
    right-hand side pointed at roll 0 (east when looking north). Stars then appear turned
    counter-clockwise in the image.
    alt_deg = 90: the axis is the zenith and az_deg only sets the orientation, as the limit of
    alt_deg -> 90 at that azimuth: the bottom of the image (+Y) faces azimuth az_deg and the top faces
    az_deg + 180. So az_deg = 180 puts north at the top and east on the left (a sky map seen from below).
    """
    for name, value in (("az_deg", az_deg), ("alt_deg", alt_deg), ("roll_deg", roll_deg)):
        if not np.isfinite(value):
            raise ValueError(f"{name}: {value} is not finite")
    if not -90.0 <= alt_deg <= 90.0:
        raise ValueError(f"alt_deg: {alt_deg} is outside -90..90")
    az = math.radians(az_deg)
    axis = altaz_to_enu(alt_deg, az_deg)
    right0 = np.array([math.cos(az), -math.sin(az), 0.0])  # horizontal, 90 deg clockwise of the axis azimuth
    up0 = np.cross(right0, axis)
    roll = math.radians(roll_deg)
    up = math.cos(roll) * up0 + math.sin(roll) * right0
    right = math.cos(roll) * right0 - math.sin(roll) * up0
    return np.column_stack([right, -up, axis])


@dataclass(frozen=True, eq=False)
class CameraModel:
    """One camera: sensor size, pinhole focal length and centre, radial distortion, orientation.

    See the module docstring for the pixel, frame and distortion conventions. Instances are
    immutable; make perturbed copies with `with_params` (used by the astrometric fit).
    """

    width_px: int
    height_px: int
    focal_px: float
    cx_px: float
    cy_px: float
    k1: float
    k2: float
    rotation: np.ndarray

    # ------------------------------------------------------------------ construction and checks
    def __post_init__(self) -> None:
        for name in ("width_px", "height_px"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name}: {value!r} is not an integer")
            if value <= 0:
                raise ValueError(f"{name}: {value} is not positive")
            object.__setattr__(self, name, int(value))
        for name in ("focal_px", "cx_px", "cy_px", "k1", "k2"):
            value = getattr(self, name)
            try:
                fvalue = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name}: {value!r} is not a number") from None
            if not math.isfinite(fvalue):
                raise ValueError(f"{name}: {value} is not finite")
            object.__setattr__(self, name, fvalue)
        if self.focal_px <= 0.0:
            raise ValueError(f"focal_px: {self.focal_px} is not positive")
        try:
            rot = np.array(self.rotation, dtype=float)
        except (TypeError, ValueError):
            raise ValueError("rotation: is not a 3x3 array of numbers") from None
        if rot.shape != (3, 3):
            raise ValueError(f"rotation: shape {rot.shape} is not (3, 3)")
        if not np.all(np.isfinite(rot)):
            raise ValueError("rotation: has non-finite elements")
        ortho_err = np.max(np.abs(rot.T @ rot - np.eye(3)))
        if ortho_err > _ORTHO_TOL:
            raise ValueError(f"rotation: not orthonormal (max |R^T R - I| = {ortho_err:.3g})")
        det = np.linalg.det(rot)
        if abs(det - 1.0) > _ORTHO_TOL:
            raise ValueError(f"rotation: determinant {det:.6f} is not +1 (a reflection?)")
        rot.setflags(write=False)
        object.__setattr__(self, "rotation", rot)
        fold = _fold_radius(self.k1, self.k2)
        object.__setattr__(self, "_fold_r", fold)
        corner_rd = self._corner_radius_norm()
        if fold is not None:
            fold_rd = fold * (1.0 + self.k1 * fold**2 + self.k2 * fold**4)
            if not fold_rd > corner_rd:
                raise ValueError(
                    f"k1, k2: distortion (k1={self.k1}, k2={self.k2}) folds inside the sensor: the radial "
                    f"mapping stops increasing at distorted radius {fold_rd:.4f} (normalised) but the "
                    f"farthest corner is at {corner_rd:.4f}"
                )
        object.__setattr__(self, "_inverse_table", self._build_inverse_table(corner_rd))

    @classmethod
    def from_pointing(
        cls,
        *,
        width_px: int,
        height_px: int,
        pixel_pitch_um: float,
        focal_length_mm: float,
        az_deg: float,
        alt_deg: float,
        roll_deg: float = 0.0,
        k1: float = 0.0,
        k2: float = 0.0,
        cx_px: float | None = None,
        cy_px: float | None = None,
    ) -> CameraModel:
        """A camera from data-sheet values and a pointing; see `rotation_from_pointing` for the axes.

        The optical centre defaults to the middle of the sensor, ((width_px - 1) / 2, (height_px - 1) / 2).
        """
        for name, value in (("pixel_pitch_um", pixel_pitch_um), ("focal_length_mm", focal_length_mm)):
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name}: {value} is not a positive finite number")
        return cls(
            width_px=width_px,
            height_px=height_px,
            focal_px=focal_length_mm * 1000.0 / pixel_pitch_um,
            cx_px=(width_px - 1) / 2.0 if cx_px is None else cx_px,
            cy_px=(height_px - 1) / 2.0 if cy_px is None else cy_px,
            k1=k1,
            k2=k2,
            rotation=rotation_from_pointing(az_deg, alt_deg, roll_deg),
        )

    def with_params(self, **changes: Any) -> CameraModel:
        """A copy with some fields changed (validated again), e.g. `cam.with_params(k1=-0.21)`."""
        return dataclasses.replace(self, **changes)

    def with_pointing(self, az_deg: float, alt_deg: float, roll_deg: float = 0.0) -> CameraModel:
        """A copy pointing elsewhere, with the same intrinsic parameters."""
        return self.with_params(rotation=rotation_from_pointing(az_deg, alt_deg, roll_deg))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CameraModel):
            return NotImplemented
        same_scalars = all(getattr(self, f) == getattr(other, f) for f in _FIELDS if f != "rotation")
        return same_scalars and np.array_equal(self.rotation, other.rotation)

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ distortion helpers
    def _corner_radius_norm(self) -> float:
        """Largest normalised distorted radius reached on the sensor (its outer pixel edges)."""
        xs = np.array([-0.5, self.width_px - 0.5]) - self.cx_px
        ys = np.array([-0.5, self.height_px - 0.5]) - self.cy_px
        return float(np.max(np.hypot(xs[:, None], ys[None, :]))) / self.focal_px

    def _distort_radius(self, r_u: np.ndarray) -> np.ndarray:
        r2 = r_u * r_u
        return r_u * (1.0 + self.k1 * r2 + self.k2 * r2 * r2)

    def _build_inverse_table(self, corner_rd: float) -> tuple[np.ndarray, np.ndarray]:
        """(r_d, r_u) samples of the monotonic radial mapping, for initial guesses of the inversion."""
        top = self._fold_r
        if top is None:  # monotonic everywhere: go out to twice the corner radius
            top = max(corner_rd, 1e-3)
            while self._distort_radius(np.float64(top)) < 2.0 * corner_rd:
                top *= 2.0
        r_u = np.linspace(0.0, top, 2049)
        return self._distort_radius(r_u), r_u

    def _undistort_radius(self, r_d: np.ndarray) -> np.ndarray:
        """Undistorted radius of distorted radii (normalised); NaN beyond the fold of the polynomial."""
        table_rd, table_ru = self._inverse_table
        r = np.interp(r_d, table_rd, table_ru)
        beyond = r_d > table_rd[-1]
        if self._fold_r is None:
            r = np.where(beyond, r_d * table_ru[-1] / table_rd[-1], r)
        k1, k2 = self.k1, self.k2
        for _ in range(_NEWTON_MAX_ITER):
            r2 = r * r
            g = r * (1.0 + k1 * r2 + k2 * r2 * r2) - r_d
            dg = 1.0 + 3.0 * k1 * r2 + 5.0 * k2 * r2 * r2
            step = g / dg
            r = r - step
            if self._fold_r is not None:
                r = np.clip(r, 0.0, self._fold_r)
            if not np.any(np.abs(step) > _NEWTON_TOL * np.maximum(1.0, r)):
                break
        if self._fold_r is not None:
            r = np.where(beyond, np.nan, r)
        return r

    # ------------------------------------------------------------------ projections
    def pixel_to_enu(self, x_px, y_px) -> np.ndarray:
        """Unit ENU direction(s), shape (..., 3), seen by pixel position(s) (x_px, y_px).

        Positions outside the sensor are projected too, as long as the distortion polynomial can be
        inverted there; beyond its fold they give NaN.
        """
        x, y = np.broadcast_arrays(np.asarray(x_px, float), np.asarray(y_px, float))
        xd = (x - self.cx_px) / self.focal_px
        yd = (y - self.cy_px) / self.focal_px
        r_d = np.hypot(xd, yd)
        r_u = self._undistort_radius(r_d)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(r_d > 0.0, r_u / r_d, 1.0)
        cam = np.stack([xd * scale, yd * scale, np.ones_like(xd)], axis=-1)
        cam /= np.linalg.norm(cam, axis=-1, keepdims=True)
        return cam @ self.rotation.T

    def enu_to_pixel(self, enu) -> tuple[np.ndarray, np.ndarray]:
        """Pixel position(s) (x_px, y_px) of ENU direction(s), shape (..., 3), not necessarily unit.

        NaN for directions behind the camera (Z <= 0) and for those beyond the fold radius of the
        distortion polynomial (far outside the field, where the polynomial would map them back in).
        """
        cam = np.asarray(enu, float) @ self.rotation
        X, Y, Z = cam[..., 0], cam[..., 1], cam[..., 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            front = Z > 0.0
            xu = np.where(front, X / np.where(front, Z, 1.0), np.nan)
            yu = np.where(front, Y / np.where(front, Z, 1.0), np.nan)
            r2 = xu * xu + yu * yu
            if self._fold_r is not None:
                inside = r2 <= self._fold_r**2
                xu = np.where(inside, xu, np.nan)
                yu = np.where(inside, yu, np.nan)
            factor = 1.0 + self.k1 * r2 + self.k2 * r2 * r2
        return self.cx_px + self.focal_px * xu * factor, self.cy_px + self.focal_px * yu * factor

    def pixel_to_altaz(self, x_px, y_px) -> tuple[np.ndarray, np.ndarray]:
        """(alt_deg, az_deg) seen by pixel position(s); geometric, no refraction."""
        return enu_to_altaz(self.pixel_to_enu(x_px, y_px))

    def altaz_to_pixel(self, alt_deg, az_deg) -> tuple[np.ndarray, np.ndarray]:
        """Pixel position(s) (x_px, y_px) of (alt_deg, az_deg); NaN where not imaged (see enu_to_pixel)."""
        return self.enu_to_pixel(altaz_to_enu(alt_deg, az_deg))

    def in_frame(self, x_px, y_px) -> np.ndarray:
        """Boolean mask: on the sensor, -0.5 <= x < width_px - 0.5 and the same for y; NaN is False."""
        x = np.asarray(x_px, float)
        y = np.asarray(y_px, float)
        return (x >= -0.5) & (x < self.width_px - 0.5) & (y >= -0.5) & (y < self.height_px - 0.5)

    # ------------------------------------------------------------------ derived quantities
    @property
    def pixel_scale_arcmin(self) -> float:
        """Angular size of one pixel at the optical centre, arcmin (distortion has unit slope there)."""
        return math.degrees(math.atan(1.0 / self.focal_px)) * 60.0

    @property
    def field_of_view_deg(self) -> tuple[float, float]:
        """(horizontal, vertical) angle in degrees between the outer edges of the sensor.

        Measured edge to edge through the optical centre's row (horizontal) and column (vertical),
        clamped to the sensor, with the distortion included.
        """
        cy = min(max(self.cy_px, -0.5), self.height_px - 0.5)
        cx = min(max(self.cx_px, -0.5), self.width_px - 0.5)
        v = self.pixel_to_enu(
            [-0.5, self.width_px - 0.5, cx, cx],
            [cy, cy, -0.5, self.height_px - 0.5],
        )

        def angle(a: np.ndarray, b: np.ndarray) -> float:
            return math.degrees(math.atan2(np.linalg.norm(np.cross(a, b)), float(np.dot(a, b))))

        return angle(v[0], v[1]), angle(v[2], v[3])

    @property
    def pointing(self) -> tuple[float, float, float]:
        """(az_deg, alt_deg, roll_deg) of the rotation, in the convention of `rotation_from_pointing`.

        At the zenith (axis within 1e-12 rad of it) the split between azimuth and roll is arbitrary:
        roll is reported as 0 and the azimuth carries the orientation.
        """
        right, down, axis = self.rotation[:, 0], self.rotation[:, 1], self.rotation[:, 2]
        alt, az = (float(a) for a in enu_to_altaz(axis))
        if math.hypot(axis[0], axis[1]) < 1e-12:
            az = math.degrees(math.atan2(-right[1], right[0])) % 360.0
            return az, (90.0 if axis[2] > 0 else -90.0), 0.0
        ref = rotation_from_pointing(az, alt, 0.0)
        up = -down
        roll = math.degrees(math.atan2(float(up @ ref[:, 0]), float(up @ -ref[:, 1])))
        return az, alt, roll

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (plain ints, floats and nested lists); `from_dict` restores it exactly."""
        return {
            "width_px": int(self.width_px),
            "height_px": int(self.height_px),
            "focal_px": float(self.focal_px),
            "cx_px": float(self.cx_px),
            "cy_px": float(self.cy_px),
            "k1": float(self.k1),
            "k2": float(self.k2),
            "rotation": [[float(v) for v in row] for row in self.rotation],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CameraModel:
        """The camera described by a `to_dict` dictionary; missing, unknown or bad keys raise ValueError."""
        if not isinstance(d, dict):
            raise ValueError(f"camera model: expected a dict, got {type(d).__name__}")
        missing = [k for k in _FIELDS if k not in d]
        if missing:
            raise ValueError(f"camera model: missing key(s) {', '.join(missing)}")
        unknown = sorted(set(d) - set(_FIELDS))
        if unknown:
            raise ValueError(f"camera model: unknown key(s) {', '.join(map(str, unknown))}")
        return cls(**{k: d[k] for k in _FIELDS})


def _fold_radius(k1: float, k2: float) -> float | None:
    """Smallest undistorted radius where d r_d / d r_u = 1 + 3 k1 r^2 + 5 k2 r^4 reaches 0, or None."""
    # Quadratic in s = r^2: 5 k2 s^2 + 3 k1 s + 1 = 0.
    if k2 == 0.0:
        return math.sqrt(-1.0 / (3.0 * k1)) if k1 < 0.0 else None
    roots = np.roots([5.0 * k2, 3.0 * k1, 1.0])
    real = [r.real for r in roots if abs(r.imag) < 1e-12 * max(1.0, abs(r.real)) and r.real > 0.0]
    return math.sqrt(min(real)) if real else None
