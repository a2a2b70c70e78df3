"""`skytrail eval ...`: accuracy measured against independent references and simulator truth.

Each evaluation prints its figures as JSON; docs/accuracy.md quotes them with the command.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable


def eval_geometry(seed: int = 1) -> dict:
    """Our vectorised transforms against astropy, and the camera model's pixel round trip."""
    import astropy.units as u
    import numpy as np
    from astropy.coordinates import AltAz, EarthLocation, SkyCoord

    from edge.astrometry.camera_model import CameraModel
    from edge.camera.profiles import M3_8MM
    from edge.geometry.celestial import Atmosphere, icrs_to_altaz, to_time
    from edge.geometry.earth import Site, ecef_to_geodetic, geodetic_to_ecef

    rng = np.random.default_rng(seed)
    site = Site(40.45, 116.6, 100.0)
    t = to_time("2026-08-12T20:00:00")
    ra, dec = rng.uniform(0, 360, 2000), np.degrees(np.arcsin(rng.uniform(-1, 1, 2000)))
    atmosphere = Atmosphere(pressure_hpa=1000.0, temperature_c=10.0, relative_humidity=0.5)
    loc = EarthLocation.from_geodetic(site.lon_deg * u.deg, site.lat_deg * u.deg, site.height_m * u.m)
    frame = AltAz(
        obstime=t,
        location=loc,
        pressure=1000.0 * u.hPa,
        temperature=10.0 * u.deg_C,
        relative_humidity=0.5,
        obswl=0.55 * u.um,
    )
    ref = SkyCoord(ra * u.deg, dec * u.deg).transform_to(frame)
    alt, az = icrs_to_altaz(ra, dec, t, site, refraction=atmosphere)
    up = ref.alt.deg > 5
    sep = SkyCoord(az * u.deg, alt * u.deg).separation(SkyCoord(ref.az, ref.alt)).to(u.mas).value[up]

    lat, lon, h = rng.uniform(-89, 89, 1000), rng.uniform(-180, 180, 1000), rng.uniform(-400, 5000, 1000)
    xyz = geodetic_to_ecef(lat, lon, h)
    astro = EarthLocation.from_geodetic(lon * u.deg, lat * u.deg, h * u.m)
    astro_xyz = np.stack([astro.x.to(u.m).value, astro.y.to(u.m).value, astro.z.to(u.m).value], -1)
    back_h = ecef_to_geodetic(xyz)[2]

    model = CameraModel.from_pointing(
        width_px=M3_8MM.width_px,
        height_px=M3_8MM.height_px,
        pixel_pitch_um=M3_8MM.pixel_pitch_um,
        focal_length_mm=M3_8MM.focal_length_mm,
        az_deg=30,
        alt_deg=45,
        roll_deg=3,
        k1=M3_8MM.k1,
        k2=M3_8MM.k2,
    )
    gy, gx = np.mgrid[0 : model.height_px : 4, 0 : model.width_px : 4].astype(float)
    rx, ry = model.enu_to_pixel(model.pixel_to_enu(gx, gy))
    return {
        "icrs_to_altaz_vs_astropy_max_mas": float(sep.max()),
        "directions_compared": int(up.sum()),
        "geodetic_to_ecef_vs_astropy_max_mm": float(1e3 * np.abs(xyz - astro_xyz).max()),
        "ecef_round_trip_height_max_um": float(1e6 * np.abs(back_h - h).max()),
        "camera_round_trip_max_px": float(np.hypot(rx - gx, ry - gy).max()),
        "camera_pixels_checked": int(gx.size),
    }


def eval_sim(seed: int = 1) -> dict:
    """A simulated event's stars and meteor against catalogue and truth."""
    import numpy as np

    from edge.sim.config import Scenario, default_network
    from edge.sim.evaluate import meteor_centroid_errors, radiant_error, star_centroid_errors
    from edge.sim.event import simulate_event

    scenario = Scenario(
        seed=seed,
        stations=default_network(2, 2, binning=2),
        margin_s=0.3,
        meteor={"shower": "PER", "peak_abs_mag": -1.5},
    )
    with tempfile.TemporaryDirectory() as out:
        truth = simulate_event(scenario, out)
        stars = star_centroid_errors(out, truth)
        meteor = meteor_centroid_errors(out, truth)
    return {
        "star_centroid_error_median_px": float(np.median(stars)),
        "star_centroid_error_p90_px": float(np.percentile(stars, 90)),
        "stars_measured": int(len(stars)),
        "meteor_centroid_error_median_px": float(np.median(meteor)),
        "meteor_frames_measured": int(len(meteor)),
        **radiant_error(truth),
    }


def eval_detect(seed: int = 1, quick: bool = False, hours: float | None = None) -> dict:
    """The C detector on simulated nights: recall by peak magnitude, false events per hour."""
    from edge.detect.evaluate import evaluate_detection

    return evaluate_detection(quick=quick, seed=seed, hours=hours)


def eval_trajectory(seed: int = 1, events: int = 20, mc_runs: int = 50, noise_arcmin: float = 1.0) -> dict:
    """The whole bridge pipeline (correlate, triangulate, orbit, shower) on simulated events."""
    from cloud_bridge.evaluate import evaluate_pipeline

    return evaluate_pipeline(events, seed=seed, noise_arcmin=noise_arcmin, mc_runs=mc_runs)


def eval_adsb(seed: int = 1, nights: int = 2, duration_s: float = 1200.0) -> dict:
    """ADS-B aircraft matching on simulated nights: messages, Beast feed, decoder, tracks, matcher."""
    from edge.adsb.evaluate import evaluate_adsb

    return evaluate_adsb(seed=seed, nights=nights, duration_s=duration_s)


def eval_astrometry(seed: int = 1, events: int = 6, binning: int = 1) -> dict:
    """Automatic calibration, meteor positions and photometry against simulator truth."""
    from edge.astrometry.evaluate import evaluate_astrometry

    result = evaluate_astrometry(events=events, seed=seed, binning=binning)
    result.pop("per_camera", None)  # long; the summary figures are what people read
    return result


def _astrometry_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--events", type=int, default=6)
    p.add_argument("--binning", type=int, default=1, help="2 is four times faster, with coarser pixels")


def _adsb_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nights", type=int, default=2)
    p.add_argument("--duration", type=float, default=1200.0, help="seconds simulated per night")


def _detect_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="a few simulated minutes (under a minute)")
    p.add_argument("--hours", type=float, help="simulated hours (default: about one)")


def _trajectory_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--events", type=int, default=20)
    p.add_argument("--mc-runs", type=int, default=50)
    p.add_argument("--noise-arcmin", type=float, default=1.0, help="measurement noise per axis")


# name -> (function, help, extra options, how the options become keyword arguments)
EVALUATIONS: dict[str, tuple[Callable[..., dict], str, Callable | None, Callable]] = {
    "geometry": (eval_geometry, "coordinate transforms and camera model against astropy", None, lambda a: {}),
    "sim": (eval_sim, "simulated frames against catalogue and truth", None, lambda a: {}),
    "detect": (
        eval_detect,
        "the C detector on simulated nights",
        _detect_options,
        lambda a: {"quick": a.quick, "hours": a.hours},
    ),
    "adsb": (
        eval_adsb,
        "ADS-B aircraft matching on simulated nights",
        _adsb_options,
        lambda a: {"nights": a.nights, "duration_s": a.duration},
    ),
    "trajectory": (
        eval_trajectory,
        "trajectories, orbits and showers of simulated events",
        _trajectory_options,
        lambda a: {"events": a.events, "mc_runs": a.mc_runs, "noise_arcmin": a.noise_arcmin},
    ),
}


def register(parser: argparse.ArgumentParser, name: str) -> None:
    commands = parser.add_subparsers(dest="eval_command", metavar="WHAT", required=True)
    for key, (fn, help_text, add_options, kwargs) in EVALUATIONS.items():
        sub = commands.add_parser(key, help=help_text, description=help_text)
        sub.add_argument("--json", action="store_true", help="print JSON (the default; kept for scripts)")
        sub.add_argument("--seed", type=int, default=1)
        if add_options:
            add_options(sub)
        sub.set_defaults(func=lambda args, fn=fn, kwargs=kwargs: _print(fn(seed=args.seed, **kwargs(args))))
    from edge.classify.cli import register_eval

    classify = commands.add_parser(
        "classify",
        help="the meteor classifier on a held-out simulated set",
        description="the int8 classifier on held-out simulated candidates: precision, recall, "
        "localisation, int8 vs float, latency; writes a confusion-matrix PNG",
    )
    register_eval(classify, "classify")


def _print(result: dict) -> int:
    from edge.jsonsafe import to_json_safe

    print(json.dumps(to_json_safe(result), indent=2))
    return 0
