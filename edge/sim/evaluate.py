"""How faithful a simulated event is: measured star and meteor positions in the rendered frames
against the catalogue and the truth file. Used by `skytrail eval sim` and by the tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.coordinates import angular_separation
from scipy.optimize import curve_fit

from edge.astrometry.camera_model import CameraModel
from edge.astrometry.measure import meteor_centroid
from edge.camera.recording import read_recording
from edge.catalogue.stars import load_bright_stars
from edge.geometry.celestial import Atmosphere, icrs_to_altaz, to_time
from edge.geometry.earth import Site, altaz_to_enu
from edge.geometry.radiant import geocentric_radiant


def gaussian_spot(xy, amplitude, x0, y0, sigma, background):
    x, y = xy
    return amplitude * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2)) + background


def star_centroid_errors(out: str | Path, truth: dict, vmag_range=(2.0, 4.2), isolation_px=6.0) -> np.ndarray:
    """Distance (px) between each bright, isolated, unsaturated star's fitted centre in the mean
    frame of its camera and where the catalogue, the apparent-place transform (with the event's
    refraction) and the camera's true model put it."""
    cat = load_bright_stars()
    atmosphere = Atmosphere(**truth["refraction"]) if truth["refraction"] else None
    errors = []
    for cam in truth["cameras"]:
        rec = read_recording(Path(out) / cam["file"])
        model = CameraModel.from_dict(cam["model"])
        site = Site(**rec.meta["site"])
        t_mid = to_time(cam["frames"][cam["stars_mid_frame"]["index"]]["t_true_unix"])
        ra, dec = cat.positions_at(t_mid)
        alt, az = icrs_to_altaz(ra, dec, t_mid, site, refraction=atmosphere)
        x, y = model.enu_to_pixel(altaz_to_enu(alt, az))
        mean = rec.frames.astype(float).mean(axis=0)
        h, w = mean.shape
        inside = np.isfinite(x) & (x > 10) & (x < w - 10) & (y > 10) & (y < h - 10) & (alt > 15)
        pts = np.flatnonzero(inside)
        bright = pts[(cat.vmag[pts] > vmag_range[0]) & (cat.vmag[pts] < vmag_range[1])]
        for i in bright:
            others = pts[pts != i]
            if np.min(np.hypot(x[others] - x[i], y[others] - y[i]), initial=np.inf) < isolation_px:
                continue
            x0, y0 = int(round(x[i])), int(round(y[i]))
            yy, xx = np.mgrid[y0 - 4 : y0 + 5, x0 - 4 : x0 + 5]
            box = mean[y0 - 4 : y0 + 5, x0 - 4 : x0 + 5]
            if box.max() > 250:
                continue  # saturated
            level = np.median(box)
            try:
                p, _ = curve_fit(
                    gaussian_spot,
                    (xx.ravel(), yy.ravel()),
                    box.ravel(),
                    p0=[box.max() - level, x[i], y[i], 0.7, level],
                )
            except RuntimeError:
                continue  # no convergence: lost in noise
            errors.append(np.hypot(p[1] - x[i], p[2] - y[i]))
    return np.asarray(errors)


def radiant_error(truth: dict) -> dict:
    """The geocentric radiant recomputed from the trajectory's begin state against the one asked for."""
    m = truth["meteor"]
    traj = m["trajectory"]
    back = geocentric_radiant(
        np.array(traj["begin_ecef_m"]),
        np.array(traj["direction_ecef"]) * traj["v_init_ms"],
        to_time(traj["t_begin_unix"]),
    )
    asked = m["radiant_geocentric"]
    a = np.radians([asked["ra_deg"], asked["dec_deg"]])
    b = np.radians([back.ra_deg, back.dec_deg])
    return {
        "radiant_error_deg": float(np.degrees(angular_separation(a[0], a[1], b[0], b[1]))),
        "v_g_error_kms": float(back.v_g_kms - asked["v_g_kms"]),
    }


def meteor_centroid_errors(out: str | Path, truth: dict, brighter_than_mag: float = 1.0) -> np.ndarray:
    """Distance (px) between the light-weighted centre of the meteor's streak in each frame
    (the frame minus the first, meteor-free frame, thresholded at 3 sigma) and the truth's
    centroid, for frames where the meteor is bright and away from the edges."""
    errors = []
    for cam in truth["cameras"]:
        if not cam["meteor_frames"] or cam["frames"][0]["meteor"] is not None:
            continue
        rec = read_recording(Path(out) / cam["file"])
        before = rec.frames[0].astype(float)
        h, w = before.shape
        for f in cam["frames"]:
            m = f["meteor"]
            if not m or not m["in_frame"] or m["apparent_mag"] > brighter_than_mag:
                continue
            cx, cy = m["centroid_x_px"], m["centroid_y_px"]
            if not (8 < cx < w - 8 and 8 < cy < h - 8):
                continue
            mx, my, _sigma = meteor_centroid(rec.frames[f["index"]].astype(float) - before, cx, cy)
            # the truth says bright here: a frame showing nothing counts as an infinite error
            errors.append(np.hypot(mx - cx, my - cy) if np.isfinite(mx) else np.inf)
    return np.asarray(errors)
