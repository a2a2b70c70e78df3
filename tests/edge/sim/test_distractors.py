"""Tests of the simulator's distractors (edge.sim.distractors) on a small 320x240 synthetic camera."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pydantic
import pytest

from edge.astrometry.camera_model import CameraModel
from edge.camera.profiles import M3_8MM
from edge.geometry.celestial import moon_altaz_and_phase
from edge.geometry.earth import Site, ecef_to_geodetic, enu_basis
from edge.geometry.radiant import GM_EARTH_M3_S2
from edge.sim import distractors as D
from edge.sim.distractors.common import EARTH_RADIUS_M
from edge.sim.render import Canvas, SimCamera, read_out

W, H = 320, 240
PITCH_UM = 35.16  # with the 8 mm lens: 15 arcmin pixels, a 70 x 56 deg field
PROFILE = dataclasses.replace(M3_8MM, width_px=W, height_px=H, pixel_pitch_um=PITCH_UM)
FPS = 30.0
EXPOSURE_S = 1.0 / FPS
T0 = 1723500000.0  # 2024-08-12
SITE_A = Site(45.0, 10.0, 200.0)
SITE_B = Site(45.0, 10.0 + 50.0 / (111.32 * math.cos(math.radians(45.0))), 200.0)  # 50 km east


def camera(site: Site, station: str, *, az_deg: float = 180.0, alt_deg: float = 90.0,
           k1: float = 0.0) -> SimCamera:  # fmt: skip
    model = CameraModel.from_pointing(width_px=W, height_px=H, pixel_pitch_um=PITCH_UM, focal_length_mm=8.0,
                                      az_deg=az_deg, alt_deg=alt_deg, k1=k1)  # fmt: skip
    return SimCamera(station, "cam0", site, model, PROFILE)


def frame_times(t_start: float, n: int) -> np.ndarray:
    return t_start + (np.arange(n) + 0.5) / FPS


def render(layer, cam: SimCamera, t_mid: np.ndarray, frames=None):
    """(canvases, truths) of the layer alone over the given frames."""
    layer.prepare(cam, t_mid, EXPOSURE_S)
    rng = np.random.default_rng(0)
    canvases, truths = [], []
    for k in range(len(t_mid)) if frames is None else frames:
        cv = Canvas(cam.shape)
        truths.append(layer.draw(k, cv, rng) or [])
        canvases.append(cv)
    return canvases, truths


def centroid(img: np.ndarray) -> tuple[float, float]:
    y, x = np.indices(img.shape)
    s = img.sum()
    return float((img * x).sum() / s), float((img * y).sum() / s)


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1)))


def satellite_over(site: Site, height_m: float, heading_deg: float, t_c: float,
                   mag: float = 3.0) -> D.Satellite:  # fmt: skip
    """A satellite passing straight over `site` at t_c, on a circular-orbit speed."""
    top = site.enu_to_ecef(np.array([0.0, 0.0, height_m - site.height_m]))
    east, north, _ = enu_basis(*ecef_to_geodetic(top)[:2])
    speed = math.sqrt(GM_EARTH_M3_S2 / (EARTH_RADIUS_M + height_m))
    h = math.radians(heading_deg)
    v = speed * (math.sin(h) * east + math.cos(h) * north)
    return D.Satellite("sat-t", top, v, t_c, mag - 5 * math.log10(height_m / 1e6))


# ------------------------------------------------------------------------------------ satellites


def test_satellite_track_is_a_smooth_line_at_the_expected_angular_speed():
    cam = camera(SITE_A, "A")
    t_mid = frame_times(T0, 60)
    sat = satellite_over(SITE_A, 550e3, 30.0, T0 + 1.0)
    canvases, truths = render(D.SatelliteLayer([sat]), cam, t_mid)
    assert all(len(t) == 1 for t in truths)
    x = np.array([t[0]["x_px"] for t in truths])
    y = np.array([t[0]["y_px"] for t in truths])
    # A straight 3-D line through a distortion-free pinhole camera is a straight image line.
    xy = np.c_[x - x.mean(), y - y.mean()]
    normal = np.linalg.svd(xy)[2][1]
    assert np.max(np.abs(xy @ normal)) < 1e-6 and np.ptp(x) + np.ptp(y) > 5.0
    # Angular speed: 7.59 km/s over 550 km is 0.79 deg/s overhead; in the FACTS range 0.5-2 deg/s.
    d = cam.model.pixel_to_enu(x, y)
    rate = angle_deg(d[1:], d[:-1]) * FPS
    assert 0.5 < rate.mean() < 2.0
    assert rate.mean() == pytest.approx(math.degrees(7586.0 / 550e3), rel=0.02)
    # Truth is where the light went: the centroid of each frame's electrons.
    for cv, t in zip(canvases[::10], truths[::10], strict=True):
        cx, cy = centroid(cv.sky_e)
        assert abs(cx - t[0]["x_px"]) < 0.02 and abs(cy - t[0]["y_px"]) < 0.02
        # Whole flux arrives: electrons from the profile for the extincted magnitude.
        assert cv.sky_e.sum() == pytest.approx(PROFILE.electrons(t[0]["mag"], EXPOSURE_S), rel=0.01)


def test_satellite_smear_samples_are_under_half_a_pixel_apart():
    model = CameraModel.from_pointing(width_px=W, height_px=H, pixel_pitch_um=5.86, focal_length_mm=8.0,
                                      az_deg=0, alt_deg=90)  # fmt: skip  # 2.5 arcmin pixels: ~19 px/s
    cam = SimCamera("A", "cam0", SITE_A, model, PROFILE)
    layer = D.SatelliteLayer([satellite_over(SITE_A, 400e3, 0.0, T0 + 0.5)])
    layer.prepare(cam, frame_times(T0, 30), EXPOSURE_S)
    tr = layer._tracks[0]
    steps = np.hypot(np.diff(tr.x, axis=1), np.diff(tr.y, axis=1))
    assert steps.max() < 0.5 and tr.x.shape[1] >= 3


def test_two_stations_see_one_satellite_with_parallax_that_gives_its_height():
    height_m = 800e3
    ca, cb = camera(SITE_A, "A"), camera(SITE_B, "B")
    mid = Site(45.0, (SITE_A.lon_deg + SITE_B.lon_deg) / 2, 200.0)
    sat = satellite_over(mid, height_m, 100.0, T0 + 0.5)
    t_mid = frame_times(T0, 30)
    k = 15
    ca_canvas, ta = render(D.SatelliteLayer([sat]), ca, t_mid, frames=[k])
    cb_canvas, tb = render(D.SatelliteLayer([sat]), cb, t_mid, frames=[k])
    pa = centroid(ca_canvas[0].sky_e)
    pb = centroid(cb_canvas[0].sky_e)
    assert math.dist(pa, pb) > 5.0  # ~3.6 deg of parallax = ~14 px
    # Triangulate the two stations' rays (closest point of two lines).
    da = ca.model.pixel_to_enu(*pa) @ SITE_A.enu_basis
    db = cb.model.pixel_to_enu(*pb) @ SITE_B.enu_basis
    oa, ob = SITE_A.ecef_m, SITE_B.ecef_m
    m = np.array([[da @ da, -da @ db], [da @ db, -db @ db]])
    s, t = np.linalg.solve(m, [(ob - oa) @ da, (ob - oa) @ db])
    point = 0.5 * ((oa + s * da) + (ob + t * db))
    true_h = float(ecef_to_geodetic(sat.position_ecef(t_mid[k]))[2])
    assert abs(float(ecef_to_geodetic(point)[2]) - true_h) < 3e3
    assert ta[0][0]["id"] == tb[0][0]["id"] == "sat-t"


def test_flaring_satellite_brightens_by_its_flare_amplitude():
    cam = camera(SITE_A, "A")
    t_mid = frame_times(T0, 60)
    sat = dataclasses.replace(satellite_over(SITE_A, 550e3, 0.0, T0 + 1.0), flare_t_unix=T0 + 1.0,
                              flare_dmag=3.0, flare_fwhm_s=0.4)  # fmt: skip
    canvases, truths = render(D.SatelliteLayer([sat]), cam, t_mid)
    flux = np.array([cv.sky_e.sum() for cv in canvases])
    assert -2.5 * math.log10(flux.max() / flux[0]) == pytest.approx(-3.0, abs=0.1)
    assert int(np.argmax(flux)) in (29, 30)
    assert truths[30][0]["flaring"] and not truths[0][0]["flaring"]


# ------------------------------------------------------------------------------------ aircraft


def aircraft_over(site: Site, lights, height_m: float = 10_000.0) -> D.Aircraft:
    p = site.enu_to_ecef(np.array([0.0, 0.0, height_m - site.height_m]))
    east, _north, _ = enu_basis(*ecef_to_geodetic(p)[:2])
    return D.Aircraft("ac-t", "4ca7b3", "EIN123", p, 230.0 * east, T0 + 1.5, tuple(lights))


def test_aircraft_strobe_blinks_once_a_second_over_steady_nav_lights():
    strobe = D.Light("strobe", (15.0, 0.0, 0.0), 0.0, period_s=1.0, phase_s=0.05, on_s=0.1)
    nav = [D.Light("nav-red", (-15.0, 0.0, 0.0), 3.0), D.Light("nav-green", (15.0, 0.0, 0.0), 3.0)]
    ac = aircraft_over(SITE_A, [*nav, strobe])
    cam = camera(SITE_A, "A")
    t_mid = frame_times(T0, 90)  # 3 s
    canvases, truths = render(D.AircraftLayer([ac]), cam, t_mid)
    flux = np.array([cv.sky_e.sum() for cv in canvases])
    lit = flux > 2.0 * np.median(flux)
    rises = np.flatnonzero(lit[1:] & ~lit[:-1]) + 1
    rises = np.r_[0, rises] if lit[0] else rises
    assert len(rises) == 3  # strobe at 0.05, 1.05, 2.05 s
    assert np.diff(t_mid[rises]) == pytest.approx([1.0, 1.0], abs=1.5 / FPS)
    assert 3 <= lit.sum() / 3 <= 5  # 0.1 s flashes span 3-4 frames of 33 ms
    assert all(t[0]["strobe_on"] == bool(b) for t, b in zip(truths, lit, strict=True))
    # Steady part: two nav lights of magnitude 3 at 10 km, dimmed by 0.25 mag at the zenith.
    k = int(np.flatnonzero(~lit)[len(np.flatnonzero(~lit)) // 2])  # a frame with only the nav lights
    r_m = truths[k][0]["range_m"]
    expect = 2 * PROFILE.electrons(3.0 + 5 * math.log10(r_m / 1e4) + 0.25, EXPOSURE_S)
    assert flux[k] == pytest.approx(expect, rel=0.01)
    # ~230 m/s at 10 km overhead: 1.3 deg/s.
    d = cam.model.pixel_to_enu([truths[0][0]["x_px"], truths[-1][0]["x_px"]],
                               [truths[0][0]["y_px"], truths[-1][0]["y_px"]])  # fmt: skip
    rate = float(angle_deg(d[0], d[1])) / (t_mid[-1] - t_mid[0])
    assert rate == pytest.approx(math.degrees(230.0 / 9800.0), rel=0.02)
    cx, cy = centroid(canvases[k].sky_e)
    assert abs(cx - truths[k][0]["x_px"]) < 0.05 and abs(cy - truths[k][0]["y_px"]) < 0.05


def test_standard_aircraft_lights_blink_and_aircraft_reports_its_position():
    rng = np.random.default_rng(3)
    ac = aircraft_over(SITE_A, D.standard_lights(rng))
    lat, lon, h = ac.geodetic(T0 + 1.5)
    assert lat == pytest.approx(45.0, abs=1e-6) and h == pytest.approx(10_000.0, abs=1.0)
    assert ac.heading_deg == pytest.approx(90.0, abs=1e-6) and ac.ground_speed_ms == pytest.approx(230.0)
    later = ac.position_ecef(T0 + 11.5) - ac.position_ecef(T0 + 1.5)
    assert np.linalg.norm(later) == pytest.approx(2300.0)
    canvases, _ = render(D.AircraftLayer([ac]), camera(SITE_A, "A"), frame_times(T0, 90))
    flux = np.array([cv.sky_e.sum() for cv in canvases])
    lit = flux > 2.0 * np.median(flux)
    assert 2 <= np.count_nonzero(lit[1:] & ~lit[:-1]) + lit[0] <= 8  # flashes come and go


# ------------------------------------------------------------------------------------ clouds


@pytest.mark.parametrize("cover", [0.2, 0.5, 0.8])
def test_cloud_transmission_range_and_coverage(cover):
    cam = camera(SITE_A, "A", az_deg=0.0, alt_deg=60.0)
    layer = D.CloudLayer(cover, seed=7, wind_ms=15.0)
    canvases, truths = render(layer, cam, frame_times(T0, 60), frames=[0, 30, 59])
    for cv, t in zip(canvases, truths, strict=True):
        tr = np.asarray(cv.transmission)
        assert tr.shape == cam.shape and tr.min() >= 0.05 - 1e-6 and tr.max() <= 1.0 + 1e-6
        covered = np.mean(tr < 1.0 - 0.95 * 0.5)
        assert covered == pytest.approx(cover, abs=0.1)
        assert t[0]["cover_fraction"] == pytest.approx(covered, abs=0.01)
        assert tr.min() < 0.1  # thick cores reach the floor
        assert np.all(np.asarray(cv.diffuse_e) >= 0) and np.asarray(cv.diffuse_e).max() > 0
    # The deck drifts: frame 59 differs from frame 0.
    assert np.abs(np.asarray(canvases[0].transmission) - np.asarray(canvases[2].transmission)).max() > 0.01


def test_clear_sky_and_overcast_extremes():
    cam = camera(SITE_A, "A")
    clear, _ = render(D.CloudLayer(0.0, seed=1), cam, frame_times(T0, 3), frames=[1])
    assert np.all(np.asarray(clear[0].transmission) == 1.0)
    overcast, t = render(D.CloudLayer(1.0, seed=1), cam, frame_times(T0, 3), frames=[1])
    assert np.allclose(overcast[0].transmission, 0.05) and t[0][0]["cover_fraction"] == 1.0


def moon_times(site: Site):
    """(a time with a nearly full Moon high up, one with the Moon below the horizon), POSIX s."""
    t = T0 + np.arange(0.0, 30 * 86400.0, 3600.0)
    alt, _az, frac = moon_altaz_and_phase(t, site)
    up = np.flatnonzero((alt > 35) & (frac > 0.9))
    down = np.flatnonzero(alt < -20)
    return float(t[up[0]]), float(t[down[0]])


def test_moonlit_clouds_are_brighter():
    t_up, t_down = moon_times(SITE_A)
    cam = camera(SITE_A, "A")
    lit, _ = render(D.CloudLayer(1.0, seed=2), cam, frame_times(t_up, 2), frames=[0])
    dark, _ = render(D.CloudLayer(1.0, seed=2), cam, frame_times(t_down, 2), frames=[0])
    ratio = np.asarray(lit[0].diffuse_e).mean() / np.asarray(dark[0].diffuse_e).mean()
    assert ratio > 5.0  # moonlit cloud ~16 mag/arcsec^2 against 20.5 of skyglow


# ------------------------------------------------------------------------------------ insects


def test_insects_are_wide_fast_blobs_on_the_near_plane():
    cam = camera(SITE_A, "A")
    layer = D.InsectLayer(6, seed=11, lit_fraction=1.0)
    t_mid = frame_times(T0, 75)
    canvases, truths = render(layer, cam, t_mid)
    seen = [d for t in truths for d in t]
    assert seen and all(d["kind"] == "insect" and 5.0 <= d["sigma_px"] <= 30.0 for d in seen)
    for cv, t in zip(canvases, truths, strict=True):
        assert np.all(cv.sky_e == 0)
        near = np.asarray(cv.near_e)
        if near.ndim and near.sum() > 0 and t:
            # Out of focus: no point-like peak. A sigma >= 5 px Gaussian peaks at <= 1/(2 pi 25) of its light.
            assert near.max() / near.sum() <= 1.0 / (2 * math.pi * 25.0) + 1e-4
    # Fast: tens to hundreds of pixels per frame.
    by_id: dict[str, list] = {}
    for k, t in enumerate(truths):
        for d in t:
            by_id.setdefault(d["id"], []).append((k, d["x_px"], d["y_px"]))
    steps = [math.dist(a[1:], b[1:])
             for v in by_id.values() for a, b in zip(v, v[1:], strict=False) if b[0] == a[0] + 1]  # fmt: skip
    assert steps and 10.0 < np.median(steps) < 250.0


def test_dark_insect_blocks_light():
    cam = camera(SITE_A, "A")
    layer = D.InsectLayer(4, seed=5, lit_fraction=0.0)
    t_mid = frame_times(T0, 75)
    layer.prepare(cam, t_mid, EXPOSURE_S)
    rng = np.random.default_rng(0)
    blocked = 0
    for k in range(75):
        cv = Canvas(cam.shape)
        cv.diffuse_e = 100.0
        if layer.draw(k, cv, rng):
            dif = np.asarray(cv.diffuse_e)
            assert dif.min() < 95.0 and dif.min() >= 100.0 * 0.3 - 1e-3 and dif.max() == pytest.approx(100.0)
            blocked += 1
    assert blocked > 0


# ------------------------------------------------------------------------------------ the Moon


def test_ks_moonlight_model_values():
    # Full moon 30 deg from a sky point (moon at 60 deg, sky point at the zenith), k = 0.25: ~17.6;
    # with K&S's own Mauna Kea k = 0.172: 17.9 (a moonlit sky of 17-19 mag/arcsec^2 near the Moon).
    v = D.nl_to_mag_arcsec2(D.ks_moon_sky_nl(0.0, 30.0, 30.0, 0.0))
    assert 17.3 < v < 18.8
    assert 17.7 < D.nl_to_mag_arcsec2(D.ks_moon_sky_nl(0.0, 30.0, 30.0, 0.0, k_mag=0.172)) < 18.1
    # Brighter toward the Moon, fainter away from full.
    rho = np.array([5.0, 10.0, 20.0, 40.0, 80.0])
    b = D.ks_moon_sky_nl(0.0, rho, 40.0, 30.0)
    assert np.all(np.diff(b) < 0)
    phases = np.array([0.0, 45.0, 90.0, 135.0])
    assert np.all(np.diff(D.ks_moon_sky_nl(phases, 30.0, 40.0, 30.0)) < 0)
    assert D.ks_moon_sky_nl(0.0, 30.0, 95.0, 30.0) == 0.0  # Moon set: no moonlight
    # Units: K&S eq. 1 agrees with the photometric definition (1 nL = 1e-5/pi cd/cm^2, 0 mag/arcsec^2
    # = 1.08e5 cd/m^2, independent of K&S's constants) to 2%.
    b_nl = 500.0
    cd_m2 = b_nl * 1e-9 / math.pi * 1e4
    assert D.nl_to_mag_arcsec2(b_nl) == pytest.approx(-2.5 * math.log10(cd_m2 / 1.08e5), abs=0.02)
    assert D.moon_vmag(0.0) == pytest.approx(-12.73)


def test_moon_layer_disc_glare_and_sky_gradient():
    t_up, _ = moon_times(SITE_A)
    alt, az, frac = (float(v) for v in moon_altaz_and_phase(t_up, SITE_A))
    cam = camera(SITE_A, "A", az_deg=az, alt_deg=alt - 10.0)  # Moon 10 deg above the centre
    canvases, truths = render(D.MoonLayer(), cam, frame_times(t_up, 2), frames=[0])
    t = truths[0][0]
    assert t["in_frame"] and t["alt_deg"] == pytest.approx(alt, abs=0.01)
    assert t["illuminated_fraction"] == pytest.approx(frac, abs=1e-3)
    xm, ym = t["x_px"], t["y_px"]
    assert abs(xm - (W - 1) / 2) < 1.0 and ym < H / 2  # above the centre
    cv = canvases[0]
    cx, cy = centroid(cv.sky_e)
    assert abs(cx - xm) < 0.2 and abs(cy - ym) < 0.2
    adu = read_out(cam, cv, np.random.default_rng(0))
    assert adu[int(round(ym)), int(round(xm))] == 255  # saturated disc
    dif = np.asarray(cv.diffuse_e)
    col = dif[:, int(round(xm))]
    row_alt, _ = cam.model.pixel_to_altaz(np.full(H, xm), np.arange(H))
    below = col[int(round(ym)) + 3 :][row_alt[int(round(ym)) + 3 :] > 2.0]
    assert len(below) > 100 and np.all(np.diff(below) < 0)  # fainter away from the Moon
    above = col[: int(round(ym)) - 3]
    assert np.all(np.diff(above) > 0)
    # Sky brightness at the frame centre matches the K&S value reported in the truth.
    centre_e = dif[H // 2, W // 2]
    centre_sb = t["moon_sky_mag_arcsec2_at_centre"]
    omega = (cam.model.pixel_scale_arcmin * 60.0) ** 2
    assert centre_e >= PROFILE.electrons(centre_sb, EXPOSURE_S) * omega * 0.98


# ------------------------------------------------------------------------------------ hot pixels


def test_hot_pixels():
    rng = np.random.default_rng(4)
    x, y, extra = D.hot_pixels_for((H, W), 50, rng)
    assert len(set(zip(x.tolist(), y.tolist(), strict=True))) == 50
    assert x.min() >= 0 and x.max() < W and y.min() >= 0 and y.max() < H
    stuck = extra >= 255
    assert 1 <= stuck.sum() <= 10 and np.all((extra[~stuck] >= 20) & (extra[~stuck] <= 200))
    cam = dataclasses.replace(camera(SITE_A, "A"), hot_pixels=(x, y, extra))
    img = read_out(cam, Canvas(cam.shape), rng)
    assert np.all(img[y[stuck], x[stuck]] == 255)
    with pytest.raises(ValueError, match="n"):
        D.hot_pixels_for((2, 2), 5, rng)


# ------------------------------------------------------------------------------------ config and factory


def test_config_defaults_and_errors_name_the_field():
    cfg = D.DistractorsConfig()
    assert cfg.satellites == 0 and cfg.aircraft == 0 and cfg.cloud_cover == 0 and cfg.insects == 0
    assert cfg.hot_pixels_per_camera == 20 and cfg.moon
    with pytest.raises(pydantic.ValidationError, match="cloud_cover"):
        D.DistractorsConfig(cloud_cover=1.5)
    with pytest.raises(pydantic.ValidationError, match="satelites"):
        D.DistractorsConfig(satelites=2)
    with pytest.raises(pydantic.ValidationError, match="satellite_train_spacing_s"):
        D.DistractorsConfig(satellite_train_spacing_s=0)


def test_factory_places_every_satellite_and_aircraft_in_some_field():
    ca, cb = camera(SITE_A, "A", az_deg=90, alt_deg=50), camera(SITE_B, "B", az_deg=270, alt_deg=50)
    cfg = D.DistractorsConfig(satellites=3, satellite_train=True, satellite_train_size=3, aircraft=3,
                              cloud_cover=0.3, insects=1, hot_pixels_per_camera=10)  # fmt: skip
    t_start, duration = T0, 2.5
    rng = np.random.default_rng(21)
    layers = D.build_distractor_layers(cfg, [ca, cb], t_start, duration, rng)
    names = [layer.name for layer in layers]
    assert names[-1] == "insects" and {"moon", "clouds", "satellites", "aircraft"} <= set(names)
    assert ca.hot_pixels is not None and len(ca.hot_pixels[0]) == 10
    sat_layer = layers[names.index("satellites")]
    ac_layer = layers[names.index("aircraft")]
    assert len(sat_layer.satellites) == 9
    t_mid = frame_times(t_start, int(duration * FPS))
    seen: set[str] = set()
    for cam in (ca, cb):
        for layer in (sat_layer, ac_layer):
            _, truths = render(layer, cam, t_mid, frames=range(0, len(t_mid), 5))
            seen |= {d["id"] for t in truths for d in t}
    assert {s.id for s in sat_layer.satellites} <= seen
    assert {a.id for a in ac_layer.aircraft} <= seen
    for s in sat_layer.satellites:
        assert 399e3 < ecef_to_geodetic(s.r0_ecef_m)[2] < 1201e3
        assert 7.2e3 < np.linalg.norm(s.v_ecef_ms) < 7.7e3
    for a in ac_layer.aircraft:
        assert 8999 < a.geodetic(a.t0_unix)[2] < 12001 and 200 <= a.ground_speed_ms <= 260
        assert len(a.icao24) == 6 and int(a.icao24, 16) > 0 and a.callsign[:3].isalpha()
    for layer in layers:  # the truth file's world description is JSON
        json.dumps(layer.describe())
    with pytest.raises(ValueError, match="cameras"):
        D.build_distractor_layers(cfg, [], t_start, duration, rng)
    with pytest.raises(ValueError, match="duration_s"):
        D.build_distractor_layers(cfg, [ca], t_start, -1.0, rng)
