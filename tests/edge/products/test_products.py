"""Data products: the TAN-SIP WCS against the camera model, and each file format read back into the
object it was written from (FITS, JSON report, PNG, MP4, GFE ECSV); corrupt files give clear errors."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from edge.astrometry.camera_model import CameraModel
from edge.geometry.celestial import Atmosphere
from edge.geometry.earth import Site
from edge.products.fits import FitsProduct, read_fits, write_fits
from edge.products.gfe import COLUMNS, gfe_table, read_gfe, write_gfe
from edge.products.json_report import describe_product, read_report, write_report
from edge.products.mp4 import read_mp4, write_mp4
from edge.products.png import METEOR_COLOUR, read_png, render_overview, write_png
from edge.products.wcs import fit_wcs, pixel_to_icrs, wcs_error_px
from edge.protocol import ObservationReport
from edge.protocol.models import (
    CameraModelSpec,
    FrameMeasurement,
    Location,
    Photometry,
    ProductKind,
    TimeQuality,
)

SITE = Site(40.45, 116.6, 100.0)
T_UNIX = 1786565338.25  # 2026-08-12T20:08:58Z, a Perseid night
ATM = Atmosphere()


def m3_model(binning: int = 1, az: float = 30.0, alt: float = 45.0) -> CameraModel:
    return CameraModel.from_pointing(
        width_px=1920 // binning,
        height_px=1080 // binning,
        pixel_pitch_um=5.86 * binning,
        focal_length_mm=8.0,
        az_deg=az,
        alt_deg=alt,
        roll_deg=1.5,
        k1=-0.06,
        k2=0.004,
        cx_px=(1920 // binning - 1) / 2 + 3.0 / binning,
    )


@pytest.mark.parametrize("binning", [1, 4])
def test_wcs_agrees_with_the_camera_model_across_the_frame(binning):
    model = m3_model(binning)
    wcs = fit_wcs(model, SITE, T_UNIX, ATM)
    # model pixel -> sky -> WCS pixel on a 40 x 40 grid edge to edge
    err = wcs_error_px(wcs, model, SITE, T_UNIX, ATM, grid=40)
    assert err.max() < 0.03, err.max()
    # and the other way, at random pixels: WCS pixel -> sky against the model
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, model.width_px - 1, 300), rng.uniform(0, model.height_px - 1, 300)
    ra, dec = pixel_to_icrs(model, SITE, T_UNIX, ATM, x, y)
    wra, wdec = wcs.all_pix2world(x, y, 0)
    sep_arcmin = np.hypot((wra - ra + 180) % 360 - 180, 0) * np.cos(np.radians(dec)) * 60
    sep_arcmin = np.hypot(sep_arcmin, (wdec - dec) * 60)
    assert np.max(sep_arcmin) < 0.03 * model.pixel_scale_arcmin
    assert wcs.wcs.ctype[0] == "RA---TAN-SIP" and wcs.sip is not None


def test_wcs_refuses_a_camera_below_the_horizon():
    with pytest.raises(ValueError, match="not on the sky|grid pixels"):
        fit_wcs(m3_model(4, alt=0.0).with_pointing(0.0, -30.0), SITE, T_UNIX, ATM)


def fits_product(model: CameraModel, wcs) -> FitsProduct:
    rng = np.random.default_rng(1)
    h, w = model.height_px, model.width_px
    return FitsProduct(
        station_id="st1",
        camera_id="cam1",
        lat_deg=SITE.lat_deg,
        lon_deg=SITE.lon_deg,
        height_m=SITE.height_m,
        colour_mode="mono",
        width_px=w,
        height_px=h,
        processed_utc="2026-08-12T20:10:00.000000Z",
        observation_id="st1-cam1-20260812T200858.250Z-0",
        frames=rng.integers(0, 256, (5, 30, 40), dtype=np.uint8),
        frame_t_unix=T_UNIX + np.arange(5) / 30.0,
        frame_index=np.arange(100, 105),
        crop_origin=(50, 60),
        max_frame=rng.integers(0, 256, (h, w), dtype=np.uint8),
        mean_frame=rng.random((h, w), dtype=np.float32),
        std_frame=rng.random((h, w), dtype=np.float32),
        mask=rng.random((h, w)) > 0.9,
        camera_model=model,
        residual_arcmin=0.21,
        stars={
            "x_px": rng.random(7) * w,
            "y_px": rng.random(7) * h,
            "hip": np.arange(7) + 1000,
            "ra_deg": rng.random(7) * 360,
            "dec_deg": rng.random(7) * 90,
            "vmag": rng.random(7) * 5,
            "flux_adu": rng.random(7) * 1e3,
        },
        wcs=wcs,
        exposure_s=1 / 30,
    )


def test_fits_round_trip_and_sky_coordinates(tmp_path):
    model = m3_model(4)
    wcs = fit_wcs(model, SITE, T_UNIX, ATM)
    product = fits_product(model, wcs)
    path = write_fits(tmp_path / "ev.fits", product)
    back = read_fits(path)
    assert back.equals(product)
    # every image HDU carries the WCS: a crop's pixel maps to the full frame's sky position
    from astropy.io import fits
    from astropy.wcs import WCS

    with fits.open(path) as hdul:
        crop = WCS(hdul["FRAME0001"].header)
        full = WCS(hdul["MEAN"].header)
        assert hdul["FRAME0003"].header["FRAMEIDX"] == 102
    ra_c, dec_c = crop.all_pix2world([[10.0, 12.0]], 0)[0]
    ra_f, dec_f = full.all_pix2world([[60.0, 72.0]], 0)[0]
    assert abs(ra_c - ra_f) < 1e-9 and abs(dec_c - dec_f) < 1e-9
    other = fits_product(model, wcs)
    other.frames[0, 0, 0] ^= 1
    assert not back.equals(other)


def test_corrupt_or_truncated_fits_raises_a_clear_error(tmp_path):
    model = m3_model(4)
    path = write_fits(tmp_path / "ev.fits", fits_product(model, None))
    data = path.read_bytes()
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.fits"):
        read_fits(truncated)
    corrupt = tmp_path / "corrupt.fits"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # inside an image: the checksum catches it
    corrupt.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="corrupt.fits"):
        read_fits(corrupt)
    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"not a fits file at all" * 200)
    with pytest.raises(ValueError, match="junk.fits"):
        read_fits(junk)


def make_report(model: CameraModel, n: int = 6, products=()) -> ObservationReport:
    t0 = datetime(2026, 8, 12, 20, 8, 58, 250000, tzinfo=UTC)
    frames = [
        FrameMeasurement(
            utc=t0 + timedelta(seconds=k / 30),
            frame_index=100 + k,
            x_px=50.0 + 3 * k,
            y_px=60.0 + 2 * k,
            ra_deg=40.0 + 0.1 * k,
            dec_deg=50.0 - 0.05 * k,
            alt_deg=40.0 - 0.1 * k,
            az_deg=30.0 + 0.2 * k,
            position_sigma_arcmin=0.3,
            flux_adu=500.0 + k,
            mag=2.0 - 0.1 * k,
            mag_sigma=0.1,
            saturated=k == 3,
        )
        for k in range(n)
    ]
    return ObservationReport(
        station_id="st1",
        observation_id="st1-cam1-20260812T200858.250Z-0",
        camera_id="cam1",
        location=Location(lat_deg=SITE.lat_deg, lon_deg=SITE.lon_deg, height_m=SITE.height_m),
        created_utc=t0 + timedelta(seconds=30),
        time_quality=TimeQuality(source="simulated", estimated_error_s=0.0005, pps_locked=False),
        camera_model=CameraModelSpec(
            **model.to_dict(), fit_residual_arcmin=0.2, n_stars=40, calibrated_at=t0
        ),
        frames=frames,
        refraction_applied=True,
        photometry=Photometry(
            zero_point=8.6, extinction_coeff=0.25, colour_term=0.0, n_stars=40, rms_mag=0.05
        ),
        products=list(products),
    )


def test_json_report_round_trip_and_product_hashes(tmp_path):
    model = m3_model(4)
    side = tmp_path / "x.png"
    side.write_bytes(b"abc")
    prod = describe_product(side, ProductKind.PNG)
    assert (
        prod.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        and prod.size_bytes == 3
    )
    report = make_report(model, products=[prod])
    path = write_report(tmp_path / "r.json", report)
    assert read_report(path) == report
    bad = tmp_path / "bad.json"
    bad.write_text(path.read_text().replace('"frame_index":101', '"frame_index":99'))
    with pytest.raises(ValueError, match="bad.json.*frame_index"):
        read_report(bad)


def test_png_round_trip_with_labels(tmp_path):
    max_frame = np.random.default_rng(2).integers(0, 60, (120, 200)).astype(np.uint8)
    pic = render_overview(
        max_frame,
        [30.0, 150.0],
        [40.0, 90.0],
        [20.0, 60.0, 100.0],
        [100.0, 80.0, 60.0],
        star_labels=["HIP 1", "HIP 2"],
        title="st1-cam1",
    )
    assert pic.shape == (120, 200, 3)
    assert np.all(pic[80, 60] == METEOR_COLOUR)  # on the drawn track
    path = write_png(tmp_path / "ev.png", pic, {"observation_id": "st1-cam1-x"})
    back, meta = read_png(path)
    assert np.array_equal(back, pic) and meta["observation_id"] == "st1-cam1-x"
    (tmp_path / "bad.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(ValueError, match="bad.png"):
        read_png(tmp_path / "bad.png")


def test_mp4_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    frames = (rng.integers(0, 30, (12, 45, 61)) + np.linspace(0, 200, 61)).astype(np.uint8)
    path = write_mp4(tmp_path / "clip.mp4", frames, 30.0)
    back = read_mp4(path)
    s = 6  # 45 px is enlarged six times (to at least 240 px), then padded to even sizes
    assert back.shape == (12, 270, 366)
    assert np.abs(back[:, : 45 * s : s, : 61 * s : s].astype(int) - frames).mean() < 2.5
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 1000)
    with pytest.raises(ValueError, match="bad.mp4"):
        read_mp4(tmp_path / "bad.mp4")


def test_gfe_ecsv_round_trip(tmp_path):
    model = m3_model(4)
    report = make_report(model)
    table = gfe_table(report, image_file="ev.png")
    path = write_gfe(tmp_path / "ev.ecsv", table)
    back = read_gfe(path)
    assert back.colnames == list(COLUMNS) and len(back) == len(report.frames)
    for name in COLUMNS:
        assert np.array_equal(np.asarray(back[name]), np.asarray(table[name])), name
    assert dict(back.meta) == dict(table.meta)
    assert back.meta["obs_latitude"] == SITE.lat_deg and back.meta["cx"] == 480 and back.meta["no_frags"] == 1
    assert back["datetime"][0] == "2026-08-12T20:08:58.250000"
    assert abs(back.meta["obs_az"] - 30.0) < 1e-6 and abs(back.meta["fov_horiz"] - 70) < 3
    text = path.read_text()
    assert text.startswith("# %ECSV") and "obs_elevation" in text and "mag_label: mag_data" in text
    (tmp_path / "bad.ecsv").write_text("# %ECSV 1.0\n# ---\n# broken: [\n")
    with pytest.raises(ValueError, match="bad.ecsv"):
        read_gfe(tmp_path / "bad.ecsv")
