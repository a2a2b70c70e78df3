"""Track store (window, interpolation, SQLite) and the aircraft matcher (aircraft tagged, meteors not)."""

import numpy as np
import pytest

from edge.adsb.decode import AdsbDecoder, PositionFix
from edge.adsb.match import match_event
from edge.adsb.receiver import frames_from_chunks
from edge.adsb.tracks import TrackStore
from edge.astrometry.camera_model import CameraModel
from edge.geometry.earth import Site, ecef_to_geodetic, enu_basis
from edge.sim.adsb import BroadcastConfig, aircraft_messages, beast_chunks
from edge.sim.distractors import Aircraft, standard_lights

SITE = Site(40.45, 116.6, 100.0)
T0 = 1_768_750_000.0


def _aircraft(east_m=12e3, north_m=0.0, height_m=10_500.0, heading_deg=10.0, speed_ms=230.0, icao="a1b2c3"):
    """An aircraft at (east_m, north_m, height_m) from the site at T0 + 60 s (default: in view)."""
    p = SITE.enu_to_ecef([east_m, north_m, height_m])
    lat, lon, _ = ecef_to_geodetic(p)
    e, n, _u = enu_basis(lat, lon)
    h = np.radians(heading_deg)
    v = speed_ms * (np.sin(h) * e + np.cos(h) * n)
    return Aircraft("ac", icao, "TEST123", p - 60.0 * v, v, T0, standard_lights(np.random.default_rng(1)))


def _fixes(ac, t, noise_m=0.0, rng=None):
    lat, lon, h = ac.geodetic(t)
    if noise_m:
        lat = lat + np.degrees(rng.normal(0, noise_m, t.size) / 6.371e6)
    return [
        PositionFix(ac.icao24, float(a), b, c, d, d, 20.0, 15.0, "pair")
        for a, b, c, d in zip(t, lat, lon, h, strict=True)
    ]


def _camera(az_deg=90.0, alt_deg=45.0):
    return CameraModel.from_pointing(
        width_px=640, height_px=360, pixel_pitch_um=17.58, focal_length_mm=8.0, az_deg=az_deg, alt_deg=alt_deg
    )


def test_interpolation_follows_a_straight_track_through_noise_and_gaps(tmp_path):
    ac = _aircraft()
    rng = np.random.default_rng(2)
    t = T0 + np.sort(rng.uniform(0, 120, 240))
    t = t[(t < T0 + 50) | (t > T0 + 70)]  # a 20 s outage
    store = TrackStore(window_s=900.0, db_path=tmp_path / "night.sqlite")
    for f in _fixes(ac, t, noise_m=15.0, rng=rng):
        store.add(f)
    store.set_callsign(ac.icao24, "TEST123", T0)
    q = T0 + np.array([10.0, 30.0, 45.0, 60.0, 100.0])
    got = store.positions_ecef(ac.icao24, q)
    err = np.linalg.norm(got.ecef_m - ac.position_ecef(q), axis=1)
    assert np.all(err[[0, 1, 2, 4]] < 15.0)  # smoothing beats the 15 m noise of single fixes
    assert np.isnan(err[3])  # inside the outage: unknown, not guessed
    vel_err = np.linalg.norm(got.vel_ecef_ms[0] - ac.v_ecef_ms)
    assert vel_err < 5.0
    # frame-rate queries (gridded) agree with direct ones
    frames = T0 + 20.0 + np.arange(300) / 30.0
    direct = np.stack([store.positions_ecef(ac.icao24, [tf]).ecef_m[0] for tf in frames[::50]])
    assert np.allclose(store.positions_ecef(ac.icao24, frames).ecef_m[::50], direct, atol=0.5)
    # the night's database reloads the same track
    store.close()
    again = TrackStore.load(tmp_path / "night.sqlite", T0, T0 + 200)
    assert again.callsigns == {ac.icao24: "TEST123"}
    assert np.allclose(again.positions_ecef(ac.icao24, q[:3]).ecef_m, got.ecef_m[:3], atol=1e-3)


def test_window_bounds_memory():
    ac = _aircraft()
    store = TrackStore(window_s=60.0)
    for f in _fixes(ac, T0 + np.arange(0, 300, 0.5)):
        store.add(f)
    kept = store.fixes(ac.icao24)[:, 0]
    assert kept.min() >= T0 + 299.5 - 60.0 and kept.size <= 121
    assert store.aircraft_between(T0, T0 + 100) == []


def _broadcast_store(aircraft, t0, t1, seed=3, config=None):
    """Simulated broadcasts -> Beast bytes -> parser -> pyModeS -> track store."""
    rng = np.random.default_rng(seed)
    msgs = [m for ac in aircraft for m in aircraft_messages(ac, t0, t1, rng, config)]
    decoder = AdsbDecoder(reference=SITE)
    store = TrackStore()
    for t, frame in frames_from_chunks(iter(beast_chunks(msgs, t0 - 100.0, rng))):
        fix = decoder.decode(frame.hex, t)
        if fix is not None:
            store.add(fix)
    for a in decoder.aircraft.values():
        store.set_callsign(a.icao24, a.callsign, a.t_last_unix)
    return store, decoder


def test_aircraft_is_tagged_and_a_meteor_on_its_path_is_not():
    ac = _aircraft()
    other = _aircraft(east_m=-25e3, north_m=-20e3, heading_deg=60.0, icao="0badc0")
    store, decoder = _broadcast_store([ac, other], T0 - 120.0, T0 + 180.0)
    assert decoder.aircraft[ac.icao24].callsign == "TEST123"
    cam = _camera()
    t = T0 + 55.0 + np.arange(150) / 30.0  # 5 s of frames
    x, y = cam.enu_to_pixel(SITE.ecef_to_enu(ac.position_ecef(t)))
    assert np.all(cam.in_frame(x, y))
    rng = np.random.default_rng(4)
    xn, yn = x + rng.normal(0, 1, t.size), y + rng.normal(0, 1, t.size)
    res = match_event(store, SITE, t, x_px=xn, y_px=yn, camera_model=cam)
    assert res.match is not None and res.match.icao24 == ac.icao24 and res.match.callsign == "TEST123"
    assert res.match.residual_deg < 0.3
    rng_m = np.linalg.norm(SITE.ecef_to_enu(ac.position_ecef(t[75])))
    assert res.match.distance_m == pytest.approx(rng_m, rel=0.02)
    # alt/az input gives the same answer
    alt, az, _ = SITE.altaz_of(ac.position_ecef(t))
    assert match_event(store, SITE, t, alt_deg=alt, az_deg=az).match.icao24 == ac.icao24
    # a 0.5 s meteor at 8 deg/s crossing the aircraft's place at the same moment: not tagged
    k = 75
    u0 = SITE.ecef_to_enu(ac.position_ecef(t[k]))
    u0 = u0 / np.linalg.norm(u0)
    side = np.cross(u0, [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side)
    tm = t[k] + (np.arange(15) - 7) / 30.0
    dirs = u0 + np.radians(8.0) * (tm - t[k])[:, None] * side
    mx, my = cam.enu_to_pixel(dirs)
    res = match_event(store, SITE, tm, x_px=mx, y_px=my, camera_model=cam)
    assert res.match is None
    (cand,) = [c for c in res.candidates if c.icao24 == ac.icao24]
    assert not cand.matched and cand.rate_det_deg_s == pytest.approx(8.0, rel=0.05)
    # too short to tell, even if it sits exactly on the aircraft: not tagged
    res = match_event(store, SITE, t[:3], x_px=x[:3], y_px=y[:3], camera_model=cam)
    assert res.match is None and "too short" in res.candidates[0].reason
    # a time outside the broadcasts: nothing to compare with
    assert match_event(store, SITE, t + 3600, x_px=x, y_px=y, camera_model=cam).match is None


def test_without_gnss_difference_the_wider_height_tolerance_still_tags():
    ac = _aircraft(height_m=9_000.0)
    cfg = BroadcastConfig(no_gnss_diff_fraction=1.0, geo_minus_baro_sigma_m=200.0)
    store, _ = _broadcast_store([ac], T0 - 60.0, T0 + 120.0, seed=9, config=cfg)
    cam = _camera()
    t = T0 + 58.0 + np.arange(90) / 30.0
    x, y = cam.enu_to_pixel(SITE.ecef_to_enu(ac.position_ecef(t)))
    res = match_event(store, SITE, t, x_px=x, y_px=y, camera_model=cam)
    assert res.match is not None and res.candidates[0].tolerance_deg > 0.5


def test_match_rejects_inconsistent_input():
    store = TrackStore()
    with pytest.raises(ValueError, match="one value per frame"):
        match_event(store, SITE, [T0, T0 + 1], alt_deg=[10.0], az_deg=[20.0])
    with pytest.raises(ValueError, match="camera_model"):
        match_event(store, SITE, [T0, T0 + 1], x_px=[1, 2], y_px=[1, 2])
    with pytest.raises(ValueError, match="directions"):
        match_event(store, SITE, [T0, T0 + 1])
    assert match_event(store, SITE, [T0, T0 + 1], alt_deg=[10, 11], az_deg=[20, 21]).match is None


def test_a_slow_meteor_inside_a_wide_tolerance_is_rejected_by_its_angular_speed():
    ac = _aircraft(height_m=9_000.0)
    cfg = BroadcastConfig(no_gnss_diff_fraction=1.0)
    store, _ = _broadcast_store([ac], T0 - 60.0, T0 + 120.0, seed=9, config=cfg)
    tc = T0 + 60.0
    u0 = SITE.ecef_to_enu(ac.position_ecef(tc))
    u0 /= np.linalg.norm(u0)
    side = np.cross(u0, [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side)
    tm = tc + (np.arange(12) - 5.5) / 30.0
    dirs = u0 + np.radians(3.0) * (tm - tc)[:, None] * side  # 3 deg/s, 0.4 s, centred on the aircraft
    alt = np.degrees(np.arcsin(dirs[:, 2] / np.linalg.norm(dirs, axis=1)))
    az = np.degrees(np.arctan2(dirs[:, 0], dirs[:, 1])) % 360
    res = match_event(store, SITE, tm, alt_deg=alt, az_deg=az, detection_sigma_deg=0.05)
    (cand,) = res.candidates
    assert res.match is None and cand.fraction_within > 0.8
    assert "angular velocity" in cand.reason
