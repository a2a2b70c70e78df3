"""GenICam cameras (GigE Vision, USB3 Vision) through `harvesters` and a GenTL producer (`.cti`).

Install with the `hardware` extra (`harvesters`, `genicam`). The producer is the vendor's `.cti`
file (`cti=...`, or the directories in `GENICAM_GENTL64_PATH`); the `genicam` wheel ships a
simulated producer, `viky.cti` (`simulated_producer_path()`), that streams test frames without
timestamps and is what the tests run against.

Time: frames are stamped on arrival (the system clock, disciplined by chrony) less a calibrated
latency from mid-exposure to arrival (`latency_s`; default half the exposure plus one frame of
transfer, to be measured per camera model, e.g. with a GPS-timed LED), with `latency_error_s`
added to the clock's error. A device timestamp, when the producer gives one, is kept in
`Frame.sensor_timestamp_ns` (device ticks, not yet mapped to UTC). Frame indices are the
producer's frame ids, so dropped frames show as gaps.

Settings use the SFNC feature names: `AcquisitionFrameRate` (with `AcquisitionFrameRateEnable`
where present), `ExposureTime` (microseconds) and `Gain` (dB; our gain factor g is 20 log10 g dB).
Only `Mono8` output is accepted (the detector's input); other formats give a clear error.
"""

from __future__ import annotations

import glob
import math
import os
import time
from pathlib import Path

import numpy as np

from edge.camera.backend import (
    CameraBackend,
    CameraError,
    CameraInfo,
    CameraTimeout,
    CameraUnsupported,
    Frame,
    TimeQualityProvider,
    widen_time_quality,
)

INSTALL_HINT = "install the 'hardware' extra: pip install 'skytrail[hardware]' (harvesters, genicam)"


def simulated_producer_path() -> Path:
    """Path of the simulated GenTL producer (`viky.cti`) shipped in the `genicam` wheel."""
    try:
        import genicam
    except ImportError as exc:
        raise CameraError(f"genicam camera: the 'genicam' package is missing; {INSTALL_HINT}") from exc
    hits = sorted(Path(genicam.__file__).parent.glob("*.cti"))
    if not hits:
        raise CameraError("genicam camera: the genicam package ships no simulated producer (.cti)")
    return hits[0]


def _find_producers() -> list[str]:
    dirs = os.environ.get("GENICAM_GENTL64_PATH", "")
    return sorted(f for d in dirs.split(os.pathsep) if d for f in glob.glob(os.path.join(d, "*.cti")))


class GenICamCamera(CameraBackend):
    """A GenICam camera via harvesters (see the module docstring)."""

    kind = "genicam"

    def __init__(
        self,
        cti: str | Path | None = None,
        device: int | str = 0,
        width_px: int | None = None,
        height_px: int | None = None,
        fps: float | None = None,
        exposure_s: float | None = None,
        gain: float | None = None,
        latency_s: float | None = None,
        latency_error_s: float = 0.005,
        fetch_timeout_s: float = 5.0,
        time_quality: TimeQualityProvider | None = None,
    ) -> None:
        super().__init__(time_quality)
        try:
            from harvesters.core import Harvester  # noqa: F401
        except ImportError as exc:
            raise CameraError(f"genicam camera: 'harvesters' is not installed; {INSTALL_HINT}") from exc
        self.cti = Path(cti) if cti is not None else None
        self.device = device
        self._want = {
            "width_px": width_px,
            "height_px": height_px,
            "fps": fps,
            "exposure_s": exposure_s,
            "gain": gain,
        }
        self.latency_s = latency_s
        self.latency_error_s = latency_error_s
        self.fetch_timeout_s = fetch_timeout_s
        self._h = None
        self._ia = None
        self._model = "?"

    # ------------------------------------------------------------------ lifecycle
    def _open(self) -> None:
        from harvesters.core import Harvester

        producers = [str(self.cti)] if self.cti is not None else _find_producers()
        if not producers:
            raise CameraError(
                "genicam camera: no GenTL producer; give cti=PATH or set GENICAM_GENTL64_PATH "
                "(simulated: edge.camera.genicam.simulated_producer_path())"
            )
        for p in producers:
            if not Path(p).is_file():
                raise CameraError(f"genicam camera: GenTL producer {p} does not exist")
        h = Harvester()
        try:
            for p in producers:
                h.add_file(p)
            h.update()
            infos = h.device_info_list
            if not infos:
                raise CameraError(f"genicam camera: no device found by {', '.join(producers)}")
            if isinstance(self.device, int):
                if not 0 <= self.device < len(infos):
                    raise CameraError(f"genicam camera: device {self.device} asked for, {len(infos)} found")
                key = self.device
            else:
                ids = {d.id_: i for i, d in enumerate(infos)} | {
                    d.serial_number: i for i, d in enumerate(infos)
                }
                if self.device not in ids:
                    raise CameraError(
                        f"genicam camera: no device {self.device!r}; found {', '.join(d.id_ for d in infos)}"
                    )
                key = ids[self.device]
            self._model = f"{infos[key].vendor} {infos[key].model}".strip()
            self._ia = h.create(key)
            self._h = h
            self._configure()
            self._ia.start()
        except CameraError:
            self._teardown(h)
            raise
        except Exception as exc:  # harvesters/GenTL raise many types; name the failure
            self._teardown(h)
            raise CameraError(f"genicam camera: could not open device {self.device!r}: {exc}") from exc

    def _configure(self) -> None:
        nm = self._ia.remote_device.node_map
        if nm.has_node("PixelFormat") and nm.PixelFormat.value != "Mono8":
            try:
                nm.PixelFormat.value = "Mono8"
            except Exception as exc:
                raise CameraUnsupported(
                    f"genicam camera: cannot switch PixelFormat {nm.PixelFormat.value} to Mono8 ({exc})"
                ) from exc
        for name, node in (("width_px", "Width"), ("height_px", "Height")):
            if self._want[name] is not None:
                self._set_node(node, int(self._want[name]))
        if self._want["fps"] is not None:
            self._set_fps(float(self._want["fps"]))
        if self._want["exposure_s"] is not None:
            self._set_exposure_s(float(self._want["exposure_s"]))
        if self._want["gain"] is not None:
            self._set_gain(float(self._want["gain"]))

    def _teardown(self, h) -> None:
        if self._ia is not None:
            try:
                if self._ia.is_acquiring():
                    self._ia.stop()
                self._ia.destroy()
            except Exception:  # best effort while closing
                pass
        self._ia = None
        h.reset()
        self._h = None

    def _close(self) -> None:
        if self._h is not None:
            self._teardown(self._h)

    # ------------------------------------------------------------------ frames
    def _read(self, timeout_s: float | None) -> Frame:
        from genicam.gentl import TimeoutException

        wait = self.fetch_timeout_s if timeout_s is None else timeout_s
        try:
            with self._ia.fetch(timeout=wait) as buf:
                t_arrival = time.time()
                comp = buf.payload.components[0]
                if comp.data_format != "Mono8":
                    raise CameraUnsupported(f"genicam camera: got {comp.data_format} frames, need Mono8")
                image = np.array(comp.data, dtype=np.uint8, copy=True).reshape(comp.height, comp.width)
                frame_id = int(buf.frame_id)
                try:
                    stamp = int(buf.timestamp_ns) or None
                except Exception:  # producers without timestamps raise NotAvailable
                    stamp = None
        except TimeoutException as exc:
            raise CameraTimeout(f"genicam camera: no frame within {wait} s") from exc
        latency = self.latency_s if self.latency_s is not None else self._default_latency_s()
        tq = widen_time_quality(
            self.clock_quality(), self.latency_error_s, "genicam: arrival time less latency"
        )
        return Frame(image, t_arrival - latency, frame_id, tq, stamp)

    def _default_latency_s(self) -> float:
        info = self.info
        return 0.5 * (info.exposure_s or 1.0 / info.fps) + 1.0 / info.fps

    # ------------------------------------------------------------------ settings
    def _node_map(self):
        if self._ia is None:
            raise CameraError("genicam camera: not open")
        return self._ia.remote_device.node_map

    def _set_node(self, name: str, value) -> None:
        nm = self._node_map()
        if not nm.has_node(name):
            raise CameraUnsupported(f"genicam camera: the device has no {name} feature")
        try:
            getattr(nm, name).value = value
        except Exception as exc:
            raise CameraError(f"genicam camera: cannot set {name} to {value}: {exc}") from exc

    def _get_node(self, name: str, default=None):
        nm = self._node_map()
        if not nm.has_node(name):
            return default
        try:
            return getattr(nm, name).value
        except Exception:
            return default

    def _set_fps(self, fps: float) -> None:
        if self._node_map().has_node("AcquisitionFrameRateEnable"):
            self._set_node("AcquisitionFrameRateEnable", True)
        self._set_node("AcquisitionFrameRate", fps)

    def _set_exposure_s(self, exposure_s: float) -> None:
        self._set_node("ExposureTime", exposure_s * 1e6)

    def _set_gain(self, gain: float) -> None:
        self._set_node("Gain", 20.0 * math.log10(gain))

    def _info(self) -> CameraInfo:
        if self._ia is None:
            raise CameraError("genicam camera: open it first to read its size and rate")
        exposure_us = self._get_node("ExposureTime")
        gain_db = self._get_node("Gain")
        return CameraInfo(
            width_px=int(self._get_node("Width")),
            height_px=int(self._get_node("Height")),
            fps=float(self._get_node("AcquisitionFrameRate", 0.0)) or math.nan,
            model=str(self._get_node("DeviceModelName", self._model)),
            exposure_s=exposure_us * 1e-6 if exposure_us is not None else None,
            gain=10.0 ** (gain_db / 20.0) if gain_db is not None else None,
        )
