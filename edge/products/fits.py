"""The event's FITS file: frames, stacks, calibration stars, camera model and a standard WCS.

Layout (M3 paper, Table 1):
- primary HDU (no data): station, camera, location, colour mode, frame size, processing time;
- one image HDU per clip frame (EXTNAME FRAME0001, ...), uint8, with its UTC time, frame index
  and the crop origin in the full frame (a crop's WCS is the full frame's with CRPIX shifted);
- MAX, MEAN, STD (full-frame float32/uint8) and MASK (uint8 0/1) image HDUs with the WCS;
- a STARS binary table: pixel position, HIP number, RA/Dec, V, flux of the calibration stars,
  with the camera model (CameraModel.to_dict(), as JSON in CAMMODEL) and the fit residual in
  its header.
The WCS is TAN-SIP fitted to the camera model (`edge.products.wcs.fit_wcs`). Everything comes
from `edge.process` (the detector's event, the calibration and the frames' times).
`read_fits` gives back an equal `FitsProduct`; a corrupt or truncated file raises ValueError.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS

from edge.astrometry.camera_model import CameraModel

STAR_COLUMNS = ("x_px", "y_px", "hip", "ra_deg", "dec_deg", "vmag", "flux_adu")


@dataclass(eq=False)
class FitsProduct:
    """Everything the FITS file holds. Arrays: frames (M, h, w) uint8; stacks (H, W)."""

    station_id: str
    camera_id: str
    lat_deg: float
    lon_deg: float
    height_m: float
    colour_mode: str  # "mono" for the 8-bit monochrome cameras
    width_px: int
    height_px: int
    processed_utc: str  # ISO 8601 UTC
    observation_id: str
    frames: np.ndarray
    frame_t_unix: np.ndarray
    frame_index: np.ndarray
    crop_origin: tuple[int, int]  # (x0, y0) of the frames in the full frame
    max_frame: np.ndarray
    mean_frame: np.ndarray
    std_frame: np.ndarray
    mask: np.ndarray
    camera_model: CameraModel
    residual_arcmin: float
    stars: dict[str, np.ndarray] = field(default_factory=dict)
    wcs: WCS | None = None
    exposure_s: float | None = None

    def equals(self, other: FitsProduct) -> bool:
        """True when every field matches (arrays exactly; the WCS by its header keywords, to 1e-12)."""
        for name in (
            "station_id",
            "camera_id",
            "lat_deg",
            "lon_deg",
            "height_m",
            "colour_mode",
            "width_px",
            "height_px",
            "processed_utc",
            "observation_id",
            "residual_arcmin",
            "exposure_s",
        ):
            a, b = getattr(self, name), getattr(other, name)
            if not (
                a == b or (isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b))
            ):
                return False
        if tuple(self.crop_origin) != tuple(other.crop_origin) or self.camera_model != other.camera_model:
            return False
        for name in ("frames", "frame_t_unix", "frame_index", "max_frame", "mean_frame", "std_frame", "mask"):
            a, b = getattr(self, name), getattr(other, name)
            if a.shape != b.shape or a.dtype != b.dtype or not np.array_equal(a, b):
                return False
        if set(self.stars) != set(other.stars):
            return False
        if any(not np.array_equal(self.stars[k], other.stars[k], equal_nan=True) for k in self.stars):
            return False
        if (self.wcs is None) != (other.wcs is None):
            return False
        if self.wcs is not None:
            ha, hb = self.wcs.to_header(relax=True), other.wcs.to_header(relax=True)
            if set(ha) != set(hb):
                return False
            for k in ha:  # FITS cards hold about 14 significant digits
                a, b = ha[k], hb[k]
                if isinstance(a, float) and isinstance(b, float):
                    if not np.isclose(a, b, rtol=1e-12, atol=0.0):
                        return False
                elif a != b:
                    return False
        return True


def _iso(t_unix: float) -> str:
    return Time(float(t_unix), format="unix", scale="utc").isot + "Z"


def _wcs_header(wcs: WCS | None, dx: float = 0.0, dy: float = 0.0) -> fits.Header:
    if wcs is None:
        return fits.Header()
    w = wcs.deepcopy()
    if dx or dy:
        w.wcs.crpix = [w.wcs.crpix[0] - dx, w.wcs.crpix[1] - dy]
        if w.sip is not None:
            from astropy.wcs import Sip

            w.sip = Sip(w.sip.a, w.sip.b, w.sip.ap, w.sip.bp, w.wcs.crpix)
    return w.to_header(relax=True)


def write_fits(path: str | Path, product: FitsProduct) -> Path:
    """Write `product` to `path` (atomically: a reader never sees half a file)."""
    path = Path(path)
    p = product
    primary = fits.PrimaryHDU()
    h = primary.header
    h["ORIGIN"] = ("skytrail", "software that wrote the file")
    h["OBSID"] = (p.observation_id, "observation id (wire contract)")
    h["STATION"] = (p.station_id, "station id")
    h["CAMERA"] = (p.camera_id, "camera id within the station")
    h["SITELAT"] = (p.lat_deg, "[deg] WGS84 geodetic latitude")
    h["SITELONG"] = (p.lon_deg, "[deg] WGS84 longitude, east")
    h["SITEELEV"] = (p.height_m, "[m] height above the WGS84 ellipsoid")
    h["COLOUR"] = (p.colour_mode, "colour mode of the sensor")
    h["FRAMEW"] = (p.width_px, "[px] full frame width")
    h["FRAMEH"] = (p.height_px, "[px] full frame height")
    h["PROCUTC"] = (p.processed_utc, "UTC when processed")
    h["NFRAMES"] = (len(p.frames), "number of FRAMEnnnn HDUs")
    h["CROPX0"] = (int(p.crop_origin[0]), "[px] column of the frames' left edge in the full frame")
    h["CROPY0"] = (int(p.crop_origin[1]), "[px] row of the frames' top edge in the full frame")
    if p.exposure_s is not None:
        h["EXPTIME"] = (p.exposure_s, "[s] exposure of one frame")
    if len(p.frame_t_unix):
        h["DATE-OBS"] = (_iso(p.frame_t_unix[0]), "UTC of the first frame")
    hdus: list = [primary]
    x0, y0 = p.crop_origin
    for k, frame in enumerate(p.frames):
        hdu = fits.ImageHDU(
            np.asarray(frame, np.uint8), header=_wcs_header(p.wcs, x0, y0), name=f"FRAME{k + 1:04d}"
        )
        hdu.header["UTC"] = (_iso(p.frame_t_unix[k]), "UTC at mid-exposure")
        hdu.header["TUNIX"] = (float(p.frame_t_unix[k]), "[s] POSIX UTC at mid-exposure")
        hdu.header["FRAMEIDX"] = (int(p.frame_index[k]), "frame number in the camera's stream")
        hdu.header["CROPX0"] = int(x0)
        hdu.header["CROPY0"] = int(y0)
        hdus.append(hdu)
    for name, data in (("MAX", p.max_frame), ("MEAN", p.mean_frame), ("STD", p.std_frame)):
        hdus.append(fits.ImageHDU(np.asarray(data), header=_wcs_header(p.wcs), name=name))
    hdus.append(fits.ImageHDU(np.asarray(p.mask, np.uint8), header=_wcs_header(p.wcs), name="MASK"))
    table = Table({k: np.asarray(p.stars.get(k, np.zeros(0))) for k in STAR_COLUMNS})
    stars = fits.table_to_hdu(table)
    stars.name = "STARS"
    stars.header["CAMMODEL"] = json.dumps(p.camera_model.to_dict())  # CameraModel.to_dict() (long string)
    residual = float(p.residual_arcmin)  # FITS headers hold no NaN: a failed fit is written as the text NaN
    stars.header["RESIDUAL"] = (
        residual if np.isfinite(residual) else "NaN",
        "[arcmin] median star residual of the fit",
    )
    stars.header["NSTARS"] = (len(table), "calibration stars")
    hdus.append(stars)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with warnings.catch_warnings():  # long values (ids, SIP terms) shorten their comments: cosmetic
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        fits.HDUList(hdus).writeto(tmp, overwrite=True, checksum=True)
    tmp.replace(path)
    return path


def read_fits(path: str | Path) -> FitsProduct:
    """Read a file written by `write_fits`. ValueError (naming the file and the problem) if it is not one,
    is truncated or fails its checksums."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", fits.verify.VerifyWarning)
            warnings.filterwarnings(
                "error", message=".*(Checksum|Datasum) verification failed", category=AstropyUserWarning
            )
            with fits.open(path, memmap=False, checksum=True) as hdul:
                hdul.verify("exception")
                return _parse(hdul)
    except FileNotFoundError:
        raise
    except (
        OSError,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        fits.verify.VerifyError,
        fits.verify.VerifyWarning,
        AstropyUserWarning,
        json.JSONDecodeError,
    ) as exc:
        raise ValueError(
            f"{path}: not a readable Skytrail FITS product ({type(exc).__name__}: {exc})"
        ) from exc


def _native(a) -> np.ndarray:
    a = np.asarray(a)
    return a.astype(a.dtype.newbyteorder("="), copy=False)


def _parse(hdul: fits.HDUList) -> FitsProduct:
    h = hdul[0].header
    n = int(h["NFRAMES"])
    frames, times, index = [], [], []
    for k in range(n):
        hdu = hdul[f"FRAME{k + 1:04d}"]
        if hdu.data is None:
            raise ValueError(f"FRAME{k + 1:04d} holds no data")
        frames.append(np.asarray(hdu.data, np.uint8))
        times.append(float(hdu.header["TUNIX"]))
        index.append(int(hdu.header["FRAMEIDX"]))
    stars_hdu = hdul["STARS"]
    table = Table.read(stars_hdu)
    model = CameraModel.from_dict(json.loads(stars_hdu.header["CAMMODEL"]))
    max_hdu = hdul["MAX"]
    wcs = WCS(max_hdu.header, relax=True) if "CTYPE1" in max_hdu.header else None
    stacks = {name: _native(hdul[name].data) for name in ("MAX", "MEAN", "STD", "MASK")}
    if any(v is None or v.ndim != 2 for v in stacks.values()):
        raise ValueError("a MAX/MEAN/STD/MASK HDU is empty or not 2-D")
    return FitsProduct(
        station_id=str(h["STATION"]),
        camera_id=str(h["CAMERA"]),
        lat_deg=float(h["SITELAT"]),
        lon_deg=float(h["SITELONG"]),
        height_m=float(h["SITEELEV"]),
        colour_mode=str(h["COLOUR"]),
        width_px=int(h["FRAMEW"]),
        height_px=int(h["FRAMEH"]),
        processed_utc=str(h["PROCUTC"]),
        observation_id=str(h["OBSID"]),
        frames=np.stack(frames) if frames else np.zeros((0, 0, 0), np.uint8),
        frame_t_unix=np.array(times, float),
        frame_index=np.array(index, np.int64),
        crop_origin=(int(h["CROPX0"]), int(h["CROPY0"])),
        max_frame=stacks["MAX"],
        mean_frame=stacks["MEAN"],
        std_frame=stacks["STD"],
        mask=stacks["MASK"].astype(bool),
        camera_model=model,
        residual_arcmin=float(stars_hdu.header["RESIDUAL"]),
        stars={k: _native(table[k]) for k in table.colnames},
        wcs=wcs,
        exposure_s=float(h["EXPTIME"]) if "EXPTIME" in h else None,
    )
