"""The station's meteor classifier: an int8 TFLite ResNet with Grad-CAM in closed form.

Input: a detector event (`edge.detect.detector.Event`), turned into a crop by
`edge.classify.preprocess` (the same function training uses). The model (`models/default.tflite`
unless configured otherwise, made by `edge.classify.train`) has three outputs: logits, the last
residual block's activations A (h, w, K) and the first conv's activations F (64, 64, k); they
are found by shape, since the order in a .tflite differs from Keras'. Beside the model, an .npz
holds the dense layer's weights W (K, C) and the class names.

Grad-CAM for class c in closed form (global average pooling then one dense layer): the gradient of
the logit with respect to A[:, :, k] is W[k, c] / (h w) everywhere, so the map is
ReLU(sum_k W[k, c] A[:, :, k]), normalised to 1. As in Peña-Asensio et al., the coarse Grad-CAM of
the last layer says where the evidence for the class lies and the first layer's activations give
the full-resolution detail: the Grad-CAM is upsampled to the crop and, as a soft prior
(`CAM_FLOOR`), multiplied by the normalised first-conv energy: each channel's excess over its median
(its response to the background), summed with the channel weights `first_conv_w` stored with the
model (fitted at export, non-negative least squares, so that the energy reproduces the crop's
brightness channel: a channel that answers noise texture or edges gets little weight; equal weights
when a model has none). The fused map's peak is the meteor's most probable pixel (given in crop and
frame pixels) and the box where it exceeds half its peak is the region of interest.

Robustness: a missing, corrupt or wrongly shaped model never raises into the station: `classify`
returns a `Classification` with label "unclassified" and the reason (also in `Classifier.status`).
A crop of the wrong size or type raises ValueError with a clear message (a programming error).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.classify.preprocess import CROP_PX, N_CHANNELS, Crop, EventLike, check_crop, crop_from_event
from edge.protocol.models import Classification, ClassLabel, PeakPixel

log = logging.getLogger(__name__)
DEFAULT_MODEL = Path(__file__).parent / "models" / "default.tflite"
# The Grad-CAM enters the fusion as (CAM_FLOOR + (1 - CAM_FLOOR) * cam): a soft prior, because the
# 4x4 map of the small default model often peaks beside the trail, at the crop's edge (median distance
# of the fused peak from the track on training candidates: 19 px with the bare CAM, 1.0 px with a
# floor of 0.5, 0.87 px with 0.75, 0.85 px with first-conv alone).
CAM_FLOOR = 0.75


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter  # type: ignore[no-redef]
        except ImportError as exc:
            raise ImportError("no TFLite runtime: install ai-edge-litert (or tflite-runtime)") from exc
    return Interpreter


@dataclass
class Result:
    """A classification with its maps: what the station needs for the report and the products.

    `classification` goes into the observation report; `fused` (the saliency map) with `crop` (where
    the map lies in the frame) is what `edge.products.png.render_overview(classification=...)` draws.
    When the event could not be classified only `classification` (label "unclassified", reason) is set."""

    classification: Classification
    probabilities: np.ndarray | None = None  # (C,)
    cam: np.ndarray | None = None  # (64, 64) Grad-CAM of the predicted class, upsampled, 0..1
    fused: np.ndarray | None = None  # (64, 64) Grad-CAM x first-conv energy, 0..1
    peak_crop_px: tuple[float, float] | None = None  # (x, y) in crop pixels
    roi_frame_px: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 in frame pixels
    crop: Crop | None = None  # the input and its place in the frame (None for a bare image or no crop)


def gradcam_closed_form(last_block: np.ndarray, dense_w: np.ndarray, class_index: int) -> np.ndarray:
    """Grad-CAM of one class from last-block activations (h, w, K) and dense weights (K, C): 0..1 map."""
    cam = np.maximum(np.tensordot(last_block, dense_w[:, class_index], axes=([-1], [0])), 0.0)
    peak = cam.max()
    return (cam / peak).astype(np.float32) if peak > 0 else cam.astype(np.float32)


def upsample(cam: np.ndarray, size: int = CROP_PX) -> np.ndarray:
    """Bilinear upsampling of a coarse (h, w) map to (size, size), pixel centres aligned."""
    from scipy.ndimage import map_coordinates

    h, w = cam.shape
    ys = (np.arange(size) + 0.5) * h / size - 0.5
    xs = (np.arange(size) + 0.5) * w / size - 0.5
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    return map_coordinates(cam.astype(np.float32), [gy, gx], order=1, mode="nearest")


def first_conv_excess(first_conv: np.ndarray) -> np.ndarray:
    """Each first-conv channel's response above its response to the background (its median): (64, 64, k)."""
    f = np.asarray(first_conv, np.float32)
    return np.maximum(f - np.median(f.reshape(-1, f.shape[-1]), axis=0), 0.0)


def fuse(
    cam: np.ndarray, first_conv: np.ndarray, channel_w: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[float, float], tuple[int, int, int, int]]:
    """Fuse an upsampled Grad-CAM (64, 64) with first-conv activations (64, 64, k), whose channels are
    weighted by `channel_w` (k,) (equal weights when None).

    Returns (fused map 0..1, peak (x, y) crop px, region of interest (x0, y0, x1, y1) crop px inclusive)."""
    excess = first_conv_excess(first_conv)
    energy = excess.sum(axis=-1) if channel_w is None else excess @ np.asarray(channel_w, np.float32)
    e_max = energy.max()
    energy = energy / e_max if e_max > 0 else energy
    fused = cam * energy
    f_max = fused.max()
    fused = fused / f_max if f_max > 0 else fused
    iy, ix = np.unravel_index(int(np.argmax(fused)), fused.shape)
    ys, xs = np.nonzero(fused >= 0.5)
    roi = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())) if xs.size else (ix, iy, ix, iy)
    return fused.astype(np.float32), (float(ix), float(iy)), roi


class Classifier:
    """Loads the int8 model once; `classify(event)` gives the wire contract's `Classification`.

    Never raises for model problems: `ok` is False and `status` says why; every result is then
    "unclassified" with that reason."""

    def __init__(self, model_path: str | Path | None = None, num_threads: int = 1) -> None:
        self.model_path = Path(model_path) if model_path is not None else DEFAULT_MODEL
        self.num_threads = num_threads
        self.status = "not loaded"
        self.model_version: str | None = None
        self._interp = None
        try:
            self._load()
            self.status = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure becomes a reported status
            self._interp = None
            self.status = f"model unusable: {exc}"[:200]
            log.warning("classifier model=%s status=%r", self.model_path, self.status)

    @property
    def ok(self) -> bool:
        return self._interp is not None

    @property
    def outputs(self) -> dict[str, tuple[tuple[int, ...], type]]:
        """The model's outputs by name (logits, last_block, first_conv): (shape, dtype); empty if not ok."""
        if not self.ok:
            return {}
        return {name: (tuple(int(v) for v in d["shape"]), d["dtype"]) for name, d in self._out.items()}

    def _load(self) -> None:
        path = self.model_path
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found")
        weights = path.with_suffix(".npz")
        if not weights.is_file():
            raise FileNotFoundError(f"dense weights {weights.name} not found beside the model")
        with np.load(weights) as f:
            self.dense_w = np.asarray(f["dense_w"], np.float32)
            self.classes = tuple(str(c) for c in f["classes"])
            self.first_conv_w = (
                np.asarray(f["first_conv_w"], np.float32).ravel() if "first_conv_w" in f.files else None
            )
        unknown = [c for c in self.classes if c not in ClassLabel.__members__.values()]
        if unknown:
            raise ValueError(f"classes {unknown} are not labels of the wire contract")
        data = path.read_bytes()
        self.model_version = f"{path.name}:{hashlib.sha256(data).hexdigest()[:12]}"
        interp = _interpreter_class()(model_content=data, num_threads=self.num_threads)
        interp.allocate_tensors()
        inp = interp.get_input_details()
        if len(inp) != 1 or tuple(inp[0]["shape"]) != (1, CROP_PX, CROP_PX, N_CHANNELS):
            raise ValueError(
                f"input is {[tuple(d['shape']) for d in inp]}, expected {(1, CROP_PX, CROP_PX, N_CHANNELS)} "
                "(a model made for another version of edge.classify.preprocess?)"
            )
        self._in = inp[0]
        outs = interp.get_output_details()
        n_classes, k = len(self.classes), self.dense_w.shape[0]
        if self.dense_w.shape[1] != n_classes:
            raise ValueError(f"dense weights are {self.dense_w.shape}, expected (K, {n_classes})")
        found: dict[str, dict] = {}
        for d in outs:
            s = tuple(d["shape"])
            if s == (1, n_classes):
                found["logits"] = d
            elif len(s) == 4 and s[1:3] == (CROP_PX, CROP_PX):
                found["first_conv"] = d
            elif len(s) == 4 and s[-1] == k:
                found["last_block"] = d
        missing = {"logits", "last_block", "first_conv"} - found.keys()
        if missing or len(outs) != 3:
            raise ValueError(
                f"wrong outputs {[tuple(d['shape']) for d in outs]}: need logits (1, {n_classes}), "
                f"last block (1, h, w, {k}) and first conv (1, 64, 64, k); missing {sorted(missing)}"
            )
        n_first, w1 = int(found["first_conv"]["shape"][-1]), self.first_conv_w
        if w1 is not None and (w1.shape != (n_first,) or np.any(w1 < 0) or not w1.any()):
            raise ValueError(f"first_conv_w is {w1.shape}, expected ({n_first},) non-negative, not all 0")
        self._out = found
        self._interp = interp

    def _unclassified(self, reason: str) -> Result:
        return Result(Classification(label=ClassLabel.UNCLASSIFIED, reason=reason[:200],
                                     model_version=self.model_version))  # fmt: skip

    def run(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """Run the int8 model on one crop; returns dequantised float32 outputs by name."""
        check_crop(image)
        d = self._in
        scale, zero = d["quantization"]
        if d["dtype"] == np.int8:
            q = np.clip(np.rint(image / scale + zero), -128, 127).astype(np.int8)
        else:
            q = image.astype(d["dtype"])
        self._interp.set_tensor(d["index"], q[None])
        self._interp.invoke()
        out = {}
        for name, od in self._out.items():
            v = self._interp.get_tensor(od["index"])[0]
            s, z = od["quantization"]
            out[name] = (v.astype(np.float32) - z) * s if s else v.astype(np.float32)
        return out

    def classify_crop(self, crop: Crop | np.ndarray) -> Result:
        """Classify a crop (a `Crop`, or its image: then pixels are in crop coordinates only)."""
        image = crop.image if isinstance(crop, Crop) else crop
        check_crop(image)
        if not self.ok:
            return self._unclassified(self.status)
        try:
            out = self.run(image)
        except Exception as exc:  # noqa: BLE001 - the station keeps running
            return self._unclassified(f"inference failed: {exc}")
        logits = out["logits"]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        c = int(np.argmax(p))
        cam = upsample(gradcam_closed_form(out["last_block"], self.dense_w, c))
        fused, (px, py), roi = fuse(CAM_FLOOR + (1.0 - CAM_FLOOR) * cam, out["first_conv"], self.first_conv_w)
        if isinstance(crop, Crop):
            fx, fy = crop.to_frame(px, py)
            x0, y0 = crop.to_frame(roi[0], roi[1])
            x1, y1 = crop.to_frame(roi[2], roi[3])
            roi_frame = (x0, y0, x1, y1)
        else:
            fx, fy, roi_frame = px, py, tuple(float(v) for v in roi)
        cls = Classification(
            label=ClassLabel(self.classes[c]),
            score=float(p[c]),
            model_version=self.model_version,
            peak_pixel=PeakPixel(x_px=float(fx), y_px=float(fy)),
        )
        return Result(cls, p, cam, fused, (px, py), roi_frame, crop if isinstance(crop, Crop) else None)

    def classify_event(self, event: EventLike, deg_per_px: float) -> Result:
        """Everything the station needs for one detector event of a camera with plate scale
        `deg_per_px`, in one call: the `Classification` for the report (`.classification`) and the
        saliency map with its place in the frame (`.fused`, `.crop`) for the product PNG. Never
        raises: an event that gives no crop, a model that is unusable or an inference that fails gives
        an "unclassified" result with the reason."""
        if not self.ok:
            return self._unclassified(self.status)
        try:
            crop = crop_from_event(event, deg_per_px)
            check_crop(crop.image)  # e.g. NaN in the event's aggregates
        except (ValueError, TypeError, AttributeError) as exc:
            return self._unclassified(f"no crop: {exc}")
        return self.classify_crop(crop)

    def classify(self, event: EventLike, deg_per_px: float) -> Classification:
        """The classification of a detector event (unclassified, with the reason, if it cannot be made)."""
        return self.classify_event(event, deg_per_px).classification

    def latency_ms(self, image: np.ndarray, repeats: int = 50) -> float:
        """Median wall time of one int8 inference (model only), milliseconds."""
        check_crop(image)
        self.run(image)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            self.run(image)
            times.append(time.perf_counter() - t)
        return float(np.median(times) * 1e3)
