"""Tests of the M3 camera model: round trips, conventions, known geometry, validation, serialisation."""

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy.optimize import brentq

from edge.astrometry.camera_model import CameraModel, rotation_from_pointing
from edge.geometry.earth import altaz_to_enu, enu_to_altaz

# An 8 mm lens on a 1920x1080 sensor of 5.8 um pixels: about 70 x 43 deg without distortion.
SENSOR = dict(width_px=1920, height_px=1080, pixel_pitch_um=5.8, focal_length_mm=8.0)
DISTORTIONS = [(0.0, 0.0), (-0.3, 0.1), (-0.2, 0.0), (-0.1, -0.1), (0.1, -0.1), (0.05, 0.1)]
POINTINGS = [
    (0.0, 0.0, 0.0),
    (123.0, 30.0, -17.0),
    (250.0, 89.9, 40.0),
    (10.0, 90.0, 0.0),
    (300.0, 45.0, 175.0),
]


def camera(az=0.0, alt=45.0, roll=0.0, k1=0.0, k2=0.0, **kw) -> CameraModel:
    args = dict(SENSOR, az_deg=az, alt_deg=alt, roll_deg=roll, k1=k1, k2=k2)
    args.update(kw)
    return CameraModel.from_pointing(**args)


def sensor_grid(cam: CameraModel, step: float = 7.0):
    """A dense grid over the whole sensor, outer pixel edges included."""
    xs = np.append(np.arange(-0.5, cam.width_px - 0.5, step), cam.width_px - 0.5)
    ys = np.append(np.arange(-0.5, cam.height_px - 0.5, step), cam.height_px - 0.5)
    return np.meshgrid(xs, ys)


def angle_deg(a, b) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1)))


@pytest.mark.parametrize("k1,k2", DISTORTIONS)
@pytest.mark.parametrize("az,alt,roll", POINTINGS)
def test_round_trip_pixel_enu_pixel(k1, k2, az, alt, roll):
    cam = camera(az, alt, roll, k1, k2)
    x, y = sensor_grid(cam)
    enu = cam.pixel_to_enu(x, y)
    np.testing.assert_allclose(np.linalg.norm(enu, axis=-1), 1.0, atol=1e-12)
    x2, y2 = cam.enu_to_pixel(enu)
    err = np.hypot(x2 - x, y2 - y)
    assert not np.any(np.isnan(err))
    assert err.max() < 1e-6  # measured: about 1e-12 px; 0.001 px is required


def test_round_trip_altaz_off_centre_principal_point():
    cam = camera(200.0, 25.0, 5.0, -0.25, 0.05, cx_px=990.3, cy_px=520.7)
    x, y = sensor_grid(cam, 13.0)
    alt, az = cam.pixel_to_altaz(x, y)
    x2, y2 = cam.altaz_to_pixel(alt, az)
    assert np.nanmax(np.hypot(x2 - x, y2 - y)) < 1e-6


@pytest.mark.parametrize("k1,k2", DISTORTIONS)
def test_off_axis_angle_matches_independent_inversion(k1, k2):
    """Pixel -> off-axis angle against scipy's root finder on the distortion polynomial."""
    cam = camera(k1=k1, k2=k2)
    axis = cam.rotation[:, 2]
    xs = np.array([cam.width_px - 0.5, cam.width_px - 1.0, 1500.0, -0.5, 960.0])
    ys = np.array([cam.height_px - 0.5, cam.cy_px, 200.0, -0.5, 1079.5])
    got = angle_deg(cam.pixel_to_enu(xs, ys), axis)
    for x, y, g in zip(xs, ys, got, strict=True):
        r_d = math.hypot(x - cam.cx_px, y - cam.cy_px) / cam.focal_px

        def f(r, r_d=r_d):
            return r * (1 + k1 * r**2 + k2 * r**4) - r_d

        grid = np.linspace(0.0, 3.0, 30001)
        hi = grid[np.argmax(f(grid) > 0)]  # the first sign change brackets the root on the sensor
        r_u = brentq(f, 0.0, hi, xtol=1e-15)
        assert g == pytest.approx(math.degrees(math.atan(r_u)), abs=1e-9)


def test_edge_pixel_of_distortion_free_camera():
    cam = camera()
    axis = cam.rotation[:, 2]
    half_width = cam.width_px / 2.0
    # The outer edge of the last column is width/2 from the centre, the last pixel's centre (width-1)/2.
    edge = cam.pixel_to_enu(cam.width_px - 0.5, cam.cy_px)
    last = cam.pixel_to_enu(cam.width_px - 1.0, cam.cy_px)
    expected_edge = math.degrees(math.atan(half_width / cam.focal_px))
    assert angle_deg(edge, axis) == pytest.approx(expected_edge, abs=1e-10)
    assert angle_deg(last, axis) == pytest.approx(
        math.degrees(math.atan((half_width - 0.5) / cam.focal_px)), abs=1e-10
    )
    h_fov, v_fov = cam.field_of_view_deg
    assert h_fov == pytest.approx(2 * math.degrees(math.atan(960.0 / 1379.3103448275863)), abs=1e-9)
    assert v_fov == pytest.approx(2 * math.degrees(math.atan(540.0 / 1379.3103448275863)), abs=1e-9)
    assert cam.pixel_scale_arcmin == pytest.approx(math.degrees(5.8e-3 / 8.0) * 60, rel=1e-6)


def test_barrel_distortion_widens_the_field():
    assert camera(k1=-0.2).field_of_view_deg[0] > camera().field_of_view_deg[0] + 5.0


@pytest.mark.parametrize("az,alt,roll", POINTINGS)
def test_optical_centre_sees_the_pointing(az, alt, roll):
    cam = camera(az, alt, roll, -0.2, 0.03)
    centre = cam.pixel_to_enu(cam.cx_px, cam.cy_px)
    assert angle_deg(centre, altaz_to_enu(alt, az)) < 1e-10
    x, y = cam.altaz_to_pixel(alt, az)
    assert x == pytest.approx(cam.cx_px, abs=1e-8) and y == pytest.approx(cam.cy_px, abs=1e-8)


@pytest.mark.parametrize("az,alt,roll", POINTINGS)
def test_pointing_is_recovered(az, alt, roll):
    got = camera(az, alt, roll).pointing
    assert got == pytest.approx((az, alt, roll), abs=1e-9)
    np.testing.assert_allclose(rotation_from_pointing(*got), camera(az, alt, roll).rotation, atol=1e-12)


@pytest.mark.parametrize("az", [0.0, 77.0, 181.0, 333.0])
@pytest.mark.parametrize("alt", [-10.0, 0.0, 30.0, 60.0])
def test_zenith_is_up_when_roll_is_zero(az, alt):
    cam = camera(az, alt)
    cx = cam.cx_px
    alt_top, az_top = cam.pixel_to_altaz(cx, 0.0)
    alt_bottom, _ = cam.pixel_to_altaz(cx, cam.height_px - 1.0)
    assert alt_top > alt + 15.0 and alt_bottom < alt - 15.0
    # The central column lies in the vertical plane of the pointing azimuth, the central row is level
    # at its middle and symmetric left-right.
    col_alt, col_az = cam.pixel_to_altaz(np.full(5, cx), np.linspace(0, cam.height_px - 1, 5))
    np.testing.assert_allclose((col_az - az + 180) % 360 - 180, 0.0, atol=1e-9)
    alt_left, az_left = cam.pixel_to_altaz(0.0, cam.cy_px)
    alt_right, az_right = cam.pixel_to_altaz(cam.width_px - 1.0, cam.cy_px)
    assert alt_left == pytest.approx(alt_right, abs=1e-9)
    assert (az_right - az) % 360 < 90 and (az - az_left) % 360 < 90  # azimuth grows to the right


def test_roll_turns_image_up_clockwise():
    """Looking north at the horizon with roll +90, the top of the image faces east."""
    cam = camera(0.0, 0.0, 90.0)
    alt, az = cam.pixel_to_altaz(cam.cx_px, cam.cy_px - 300.0)
    assert alt == pytest.approx(0.0, abs=1e-9)
    assert 0.0 < az < 90.0
    alt_right, _ = cam.pixel_to_altaz(cam.cx_px + 300.0, cam.cy_px)
    assert alt_right < -5.0  # the image's right now points down


def test_zenith_camera_convention():
    """At alt 90 the bottom of the image faces az_deg: az 180 puts north up and east left."""
    cam = camera(180.0, 90.0)
    _, az_top = cam.pixel_to_altaz(cam.cx_px, 0.0)
    _, az_left = cam.pixel_to_altaz(0.0, cam.cy_px)
    assert az_top == pytest.approx(0.0, abs=1e-9) or az_top == pytest.approx(360.0, abs=1e-9)
    assert az_left == pytest.approx(90.0, abs=1e-9)
    # Continuity: the limit alt -> 90 at the same azimuth gives nearly the same rotation.
    np.testing.assert_allclose(camera(180.0, 90.0 - 1e-7).rotation, cam.rotation, atol=1e-8)


def test_behind_and_far_outside_are_nan():
    cam = camera(0.0, 0.0, 0.0, -0.2, 0.0)
    x, y = cam.enu_to_pixel(np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    assert np.isnan(x[0]) and np.isnan(y[0])  # behind
    assert np.isnan(x[1]) and np.isnan(y[1])  # 90 deg off axis: Z = 0
    assert x[2] == pytest.approx(cam.cx_px)
    # 60 deg off axis is beyond the fold of this polynomial (r_u = 1.29, 52 deg): must not wrap back in.
    x, y = cam.altaz_to_pixel(0.0, 60.0)
    assert np.isnan(x) and np.isnan(y)
    assert not cam.in_frame(x, y)


def test_in_frame():
    cam = camera()
    x = np.array([-0.5, -0.51, 1919.49, 1919.5, 100.0, np.nan])
    y = np.array([0.0, 0.0, 1079.49, 0.0, 1079.5, 0.0])
    assert cam.in_frame(x, y).tolist() == [True, False, True, False, False, False]


def test_projection_of_stars_matches_rotation_matrix():
    """enu_to_pixel of a distortion-free camera is the textbook pinhole projection."""
    cam = camera(33.0, 41.0, 12.0)
    rng = np.random.default_rng(1)
    enu = altaz_to_enu(rng.uniform(25, 55, 200), rng.uniform(15, 50, 200))
    x, y = cam.enu_to_pixel(enu)
    cam_xyz = enu @ cam.rotation
    np.testing.assert_allclose(x, cam.cx_px + cam.focal_px * cam_xyz[:, 0] / cam_xyz[:, 2], atol=1e-9)
    np.testing.assert_allclose(y, cam.cy_px + cam.focal_px * cam_xyz[:, 1] / cam_xyz[:, 2], atol=1e-9)
    alt, az = enu_to_altaz(cam.pixel_to_enu(x, y))
    alt0, az0 = enu_to_altaz(enu)
    np.testing.assert_allclose(alt, alt0, atol=1e-10)


@pytest.mark.parametrize(
    "change,field",
    [
        (dict(width_px=0), "width_px"),
        (dict(height_px=-3), "height_px"),
        (dict(width_px=12.5), "width_px"),
        (dict(focal_px=0.0), "focal_px"),
        (dict(focal_px=float("inf")), "focal_px"),
        (dict(cx_px=float("nan")), "cx_px"),
        (dict(k1=float("nan")), "k1"),
        (dict(k2="x"), "k2"),
        (dict(k1=-0.3, k2=0.0), "k1, k2"),
        (dict(k1=-0.1, k2=-0.2), "k1, k2"),
        (dict(rotation=np.eye(3) * 1.01), "rotation"),
        (dict(rotation=np.diag([1.0, 1.0, -1.0])), "rotation"),
        (dict(rotation=np.eye(2)), "rotation"),
        (dict(rotation=np.full((3, 3), np.nan)), "rotation"),
    ],
)
def test_validation_names_the_field(change, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        camera().with_params(**change)


def test_from_pointing_validation():
    with pytest.raises(ValueError, match="pixel_pitch_um"):
        camera(pixel_pitch_um=0.0)
    with pytest.raises(ValueError, match="alt_deg"):
        camera(alt=91.0)
    with pytest.raises(ValueError, match="roll_deg"):
        camera(roll=float("nan"))


def test_dict_round_trip_is_exact_through_json():
    cam = camera(123.4, 56.7, -8.9, -0.23, 0.071, cx_px=955.123456789, cy_px=541.987654321)
    d = json.loads(json.dumps(cam.to_dict()))
    back = CameraModel.from_dict(d)
    assert back == cam
    assert back.to_dict() == cam.to_dict()
    assert isinstance(d["rotation"], list) and isinstance(d["width_px"], int)


def test_from_dict_names_missing_unknown_and_bad_keys():
    d = camera().to_dict()
    with pytest.raises(ValueError, match="missing key.*focal_px"):
        CameraModel.from_dict({k: v for k, v in d.items() if k != "focal_px"})
    with pytest.raises(ValueError, match="unknown key.*focal_mm"):
        CameraModel.from_dict(dict(d, focal_mm=8.0))
    with pytest.raises(ValueError, match="^k1:"):
        CameraModel.from_dict(dict(d, k1=None))
    with pytest.raises(ValueError, match="^rotation:"):
        CameraModel.from_dict(dict(d, rotation=[[1, 0], [0, 1]]))


def test_perturbed_copies():
    cam = camera(10.0, 40.0, 0.0, -0.1, 0.0)
    other = cam.with_params(k1=-0.11, focal_px=cam.focal_px + 2.0)
    assert other.k1 == -0.11 and other.focal_px == cam.focal_px + 2.0 and cam.k1 == -0.1
    assert dataclasses.replace(cam, cx_px=900.0).cx_px == 900.0
    assert cam.with_pointing(11.0, 40.0).pointing == pytest.approx((11.0, 40.0, 0.0), abs=1e-9)
    assert other != cam and cam.with_params() == cam
    with pytest.raises(ValueError):
        cam.rotation[0, 0] = 2.0  # the rotation is read-only
