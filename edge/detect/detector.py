"""One camera's real-time meteor detector: the Python face of the C core (`src/detector.c`).

Frames come from a camera backend (or the simulator) as (H, W) uint8 numpy arrays with their
UTC time (POSIX seconds) and frame index; events go to the extractor. All the work is done in C
with the GIL released; this module validates input, converts the configuration and copies each
event's arrays out of the C detector into numpy arrays.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from edge.detect import _cdetect


@dataclass(frozen=True)
class DetectorConfig:
    """Detector settings. Frames and pixels are the units; defaults suit 8-bit video at 25-30 fps."""

    k_sigma: float = 5.0  # seed (high) threshold in background sigmas
    min_frames: int = 3  # shortest track reported
    max_gap_frames: int = 2  # a track survives this many frames without a detection (dropped frames)
    margin_frames: int = 5  # clip frames kept before the first and after the last detection
    max_event_frames: int = 600  # longer tracks are closed and reported
    background_tau_frames: float = 128.0  # time constant of the running background (mean and spread)
    min_speed_px_per_frame: float = 0.03  # below this a track is "static" (star, hot pixel), never reported
    # between min and this: a "slow" mover (satellite/aircraft-like); 0: 0.1 % of the diagonal, >= 1 px
    slow_speed_px_per_frame: float = 0.0
    crop_margin_px: int = 16  # clip crop around the track's bounding box
    # settings beyond the shared API (all with working defaults)
    k_sigma_low: float = 2.5  # growth (low) threshold of the hysteresis, background sigmas
    min_sigma_adu: float = 1.0  # floor on the background sigma (8-bit quantisation, flat regions)
    background_every: int = 8  # each row's background is updated every this many frames
    warmup_frames: int = 8  # first frames only build the background
    clip_max_frames: int = 64  # frames of a track the ring buffer keeps for the clip (bounds memory)
    min_travel_px: float = 1.5  # fitted travel (speed x frames spanned) of an event
    max_speed_px_per_frame: float = 0.0  # gate radius for a track's 2nd detection (0: 3 % of the diagonal)
    gate_px: float = 4.0  # gate radius around the predicted position
    max_line_rms_px: float = 2.0  # largest rms distance of the centroids from a straight line
    min_track_snr: float = 12.0  # evidence sqrt(sum snr^2) of an event's detections, brightest left out
    max_width_px: float = 0.0  # wider components (insects, cloud edges) untracked (0: 0.6 % of the diagonal)
    static_hits: int = 24  # a pixel whose (decaying) fire counter reaches this is static
    max_tracks: int = 128  # tracks followed at once
    max_components: int = 512  # components kept per frame
    max_seed_pixels: int = 0  # more seed pixels in a frame: frame skipped (0: 0.5 % of the frame)
    max_component_pixels: int = 0  # labelled pixels per frame (0: 2 % of the frame)
    max_track_pixels: int = 8192  # (pixel, frame) pairs kept per track for the event mask


@dataclass
class Event:
    """One tracked mover: per-frame measurements, a cropped clip and full-frame aggregates."""

    frame_index: np.ndarray  # (N,) int64, frames with a detection (gaps possible)
    t_unix: np.ndarray  # (N,) float64, the frames' UTC times as given to process()
    x_px: np.ndarray  # (N,) centroid column (pixel (0,0) = centre of top-left pixel)
    y_px: np.ndarray  # (N,)
    flux_adu: np.ndarray  # (N,) background-subtracted sum over the component
    bbox: np.ndarray  # (N, 4) int32 x0, y0, x1, y1 inclusive
    n_pixels: np.ndarray  # (N,)
    speed_px_per_frame: float  # fitted along the track
    kind: str  # "fast" (meteor-like) or "slow" (satellite/aircraft-like)
    clip: np.ndarray  # (M, h, w) uint8 frames from the ring buffer, first-margin .. last+margin, cropped
    clip_origin: tuple[int, int]  # (x0, y0) of the crop in the full frame
    clip_frame_index: np.ndarray  # (M,)
    clip_t_unix: np.ndarray  # (M,)
    max_pixel: np.ndarray  # (H, W) uint8 over the clip's frames, full frame
    max_frame: np.ndarray  # (H, W) uint16 index into clip_frame_index
    mean: np.ndarray  # (H, W) float32, background mean with the event's own pixels left out
    std: np.ndarray  # (H, W) float32, likewise
    mask: np.ndarray  # (H, W) bool, the pixels the event touched
    mask_truncated: bool = False  # True if the event had more pixels than max_track_pixels
    snr: float = math.nan  # sqrt(sum of the detections' (flux / (sigma sqrt(n_pixels)))^2)
    width_px: float = math.nan  # median minor-axis sigma of the detections' light, px (a meteor's is its PSF)


class Detector:
    """One camera's detector: feed frames in time order, collect the events that end."""

    def __init__(
        self,
        width: int,
        height: int,
        config: DetectorConfig | None = None,
        sky_mask: np.ndarray | None = None,
    ) -> None:
        self.width, self.height = int(width), int(height)
        if not (1 <= self.width <= 16384 and 1 <= self.height <= 16384):
            raise ValueError(f"frame size {width} x {height} out of range (1..16384 each)")
        self.config = config or DetectorConfig()
        if sky_mask is not None:
            sky_mask = np.asarray(sky_mask)
            if sky_mask.shape != (self.height, self.width):
                raise ValueError(f"sky_mask shape is {sky_mask.shape}, expected {(self.height, self.width)}")
            if sky_mask.dtype not in (np.bool_, np.uint8):
                raise ValueError(f"sky_mask dtype is {sky_mask.dtype}, expected bool or uint8")
            sky_mask = np.ascontiguousarray(sky_mask).view(np.uint8)
        _check_config(self.config)
        self._c = _cdetect.Detector(self.width, self.height, asdict(self.config), sky_mask)
        self._last: tuple[int, float] | None = None

    def process(self, frame: np.ndarray, t_unix: float, frame_index: int) -> list[Event]:
        """Feed one (H, W) uint8 frame; returns the events that ENDED with this frame (often none).

        Raises ValueError (clear message) for wrong shape/dtype/strides, a size change, or a time
        or index not after the previous frame; the detector stays usable after the error."""
        if not isinstance(frame, np.ndarray):
            raise ValueError(f"frame must be a numpy array, got {type(frame).__name__}")
        if frame.dtype != np.uint8:
            raise ValueError(f"frame dtype is {frame.dtype}, expected uint8")
        if frame.ndim != 2 or frame.shape != (self.height, self.width):
            raise ValueError(
                f"frame shape is {frame.shape}, expected {(self.height, self.width)}"
                " (the frame size cannot change mid-stream)"
            )
        if frame.strides[1] != 1 or frame.strides[0] < self.width:
            raise ValueError(
                f"frame is not row-contiguous (strides {frame.strides}); pass np.ascontiguousarray(frame)"
            )
        t = float(t_unix)
        index = int(frame_index)
        if not math.isfinite(t):
            raise ValueError(f"frame time {t_unix!r} is not finite")
        if self._last is not None:
            last_index, last_t = self._last
            if index <= last_index:
                raise ValueError(f"frame index {index} is not after the previous frame's ({last_index})")
            if t <= last_t:
                raise ValueError(f"frame time {t!r} is not after the previous frame's ({last_t!r})")
        n = self._c.process(frame, t, index)
        self._last = (index, t)
        return [self._read(k) for k in range(n)]

    def flush(self) -> list[Event]:
        """End of stream: close and return open tracks."""
        return [self._read(k) for k in range(self._c.flush())]

    @property
    def memory_bytes(self) -> int:
        """Fixed footprint of this camera's detector state."""
        return int(self._c.memory_bytes)

    def stats(self) -> dict:
        """Counters: frames, skipped_frames (too many seeds), active_tracks, components_last."""
        return dict(self._c.stats())

    def _read(self, k: int) -> Event:
        info = self._c.event_info(k)
        n, m = info["n_detections"], info["n_clip"]
        h, w = info["clip_height"], info["clip_width"]
        shape = (self.height, self.width)
        ev = Event(
            frame_index=np.empty(n, np.int64),
            t_unix=np.empty(n, np.float64),
            x_px=np.empty(n, np.float64),
            y_px=np.empty(n, np.float64),
            flux_adu=np.empty(n, np.float64),
            bbox=np.empty((n, 4), np.int32),
            n_pixels=np.empty(n, np.int32),
            speed_px_per_frame=float(info["speed_px_per_frame"]),
            kind=info["kind"],
            clip=np.empty((m, h, w), np.uint8),
            clip_origin=(info["clip_x0"], info["clip_y0"]),
            clip_frame_index=np.empty(m, np.int64),
            clip_t_unix=np.empty(m, np.float64),
            max_pixel=np.empty(shape, np.uint8),
            max_frame=np.empty(shape, np.uint16),
            mean=np.empty(shape, np.float32),
            std=np.empty(shape, np.float32),
            mask=np.empty(shape, np.bool_),
            mask_truncated=bool(info["mask_truncated"]),
            snr=float(info["snr"]),
            width_px=float(info["width_px"]),
        )
        self._c.event_read(
            k,
            ev.frame_index,
            ev.t_unix,
            ev.x_px,
            ev.y_px,
            ev.flux_adu,
            ev.bbox,
            ev.n_pixels,
            ev.clip,
            ev.clip_frame_index,
            ev.clip_t_unix,
            ev.max_pixel,
            ev.max_frame,
            ev.mean,
            ev.std,
            ev.mask,
        )
        return ev


def _check_config(c: DetectorConfig) -> None:
    """Name the first out-of-range setting (the C core checks again, without names)."""
    rules = [
        ("k_sigma", 0.5 <= c.k_sigma <= 100),
        ("k_sigma_low", 0 <= c.k_sigma_low <= c.k_sigma),
        ("min_sigma_adu", 0 <= c.min_sigma_adu <= 255),
        ("background_tau_frames", 1 <= c.background_tau_frames <= 1e7),
        ("background_every", 1 <= c.background_every <= min(16, c.background_tau_frames)),
        ("warmup_frames", 1 <= c.warmup_frames <= 100000),
        ("min_frames", c.min_frames >= 1),
        ("max_gap_frames", 0 <= c.max_gap_frames <= 1000),
        ("margin_frames", 0 <= c.margin_frames <= 1000),
        ("max_event_frames", c.min_frames <= c.max_event_frames <= 100000),
        ("clip_max_frames", 1 <= c.clip_max_frames <= 10000),
        ("min_speed_px_per_frame", 0 <= c.min_speed_px_per_frame <= 1e4),
        ("slow_speed_px_per_frame", 0 <= c.slow_speed_px_per_frame <= 1e4),
        ("max_speed_px_per_frame", 0 <= c.max_speed_px_per_frame <= 1e5),
        ("min_travel_px", 0 <= c.min_travel_px <= 1e5),
        ("gate_px", 0 <= c.gate_px <= 1e5),
        ("max_line_rms_px", 0 <= c.max_line_rms_px <= 1e5),
        ("min_track_snr", 0 <= c.min_track_snr <= 1e6),
        ("max_width_px", 0 <= c.max_width_px <= 1e5),
        ("crop_margin_px", 0 <= c.crop_margin_px <= 16384),
        ("static_hits", 1 <= c.static_hits <= 255),
        ("max_tracks", 1 <= c.max_tracks <= 4096),
        ("max_components", 1 <= c.max_components <= 65536),
        ("max_seed_pixels", 0 <= c.max_seed_pixels <= 2**31 - 1),
        ("max_component_pixels", 0 <= c.max_component_pixels <= 2**31 - 1),
        ("max_track_pixels", 1 <= c.max_track_pixels <= 2**24),
    ]
    for name, ok in rules:
        if not ok:
            raise ValueError(f"DetectorConfig.{name} = {getattr(c, name)!r} is out of range")
