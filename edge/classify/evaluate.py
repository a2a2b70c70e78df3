"""How good the classifier is on a held-out simulated set (`skytrail eval classify`).

The held-out set (`edge.classify.dataset`, `HELDOUT_FIRST_SEED`, `HELDOUT_PARAMS`) is drawn with
other seeds and other distractor and sky parameters than training. Figures: meteor precision and
recall, accuracy, per-class precision/recall, the median distance (frame pixels) from the fused
Grad-CAM peak to the true meteor track (segment between its first and last positions), int8 vs
float agreement (same predicted class), and per-candidate latency of the int8 and float models on
one thread (model only, median). Float figures need TensorFlow (the `[train]` extra) and the
float model (.keras) beside the .tflite; without them they are None.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import numpy as np

from edge.classify.dataset import CLASSES, METEOR
from edge.classify.runtime import DEFAULT_MODEL, Classifier


def point_segment_distance(px, py, ax, ay, bx, by) -> np.ndarray:
    """Distance from points to segments (all arrays of the same shape), same units as the inputs."""
    px, py, ax, ay, bx, by = (np.asarray(v, float) for v in (px, py, ax, ay, bx, by))
    dx, dy = bx - ax, by - ay
    L2 = dx * dx + dy * dy
    t = np.where(L2 > 0, ((px - ax) * dx + (py - ay) * dy) / np.where(L2 > 0, L2, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy))


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, n: int = len(CLASSES)) -> np.ndarray:
    """(n, n) counts, rows = true class, columns = predicted class."""
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (truth, pred), 1)
    return m


def write_confusion_png(matrix: np.ndarray, path: str | Path, classes=CLASSES) -> Path:
    """A confusion-matrix image (rows true, columns predicted, counts written in each cell)."""
    from PIL import Image, ImageDraw

    n = len(classes)
    cell, left, top = 60, 90, 90
    img = Image.new("RGB", (left + n * cell + 10, top + n * cell + 30), "white")
    draw = ImageDraw.Draw(img)
    row_sum = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    frac = matrix / row_sum
    for i in range(n):
        draw.text((5, top + i * cell + cell // 2 - 5), classes[i], fill="black")
        draw.text((left + i * cell + 3, top - 20 - 10 * (i % 2)), classes[i], fill="black")
        for j in range(n):
            shade = int(255 * (1 - frac[i, j]))
            x0, y0 = left + j * cell, top + i * cell
            draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=(shade, shade, 255), outline="grey")
            draw.text(
                (x0 + 8, y0 + cell // 2 - 5), str(int(matrix[i, j])), fill="black" if shade > 110 else "white"
            )
    draw.text((left, 5), "rows: true class, columns: predicted", fill="black")
    draw.text((left, top + n * cell + 8), "Skytrail classifier, held-out simulated set", fill="black")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def _float_outputs(model_path: Path, images: np.ndarray):
    """Float Keras logits for the images and a float TFLite interpreter for timing, or (None, None)."""
    keras_path = model_path.with_suffix(".keras")
    try:
        import keras
        import tensorflow as tf
    except ImportError:
        return None, None
    if not keras_path.is_file():
        return None, None
    model = keras.models.load_model(keras_path, compile=False)
    logits = np.asarray(model.predict(images, batch_size=128, verbose=0)[0])
    from edge.classify.runtime import _interpreter_class

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    with contextlib.redirect_stdout(sys.stderr):  # the converter prints; keep stdout for --json
        content = converter.convert()
    interp = _interpreter_class()(model_content=content, num_threads=1)
    interp.allocate_tensors()
    return logits, interp


def _float_latency_ms(interp, image: np.ndarray, repeats: int = 50) -> float:
    d = interp.get_input_details()[0]
    times = []
    for r in range(repeats + 1):
        t = time.perf_counter()
        interp.set_tensor(d["index"], image[None])
        interp.invoke()
        for od in interp.get_output_details():
            interp.get_tensor(od["index"])
        if r:
            times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


def evaluate_classifier(
    data: dict[str, np.ndarray],
    model_path: str | Path = DEFAULT_MODEL,
    confusion_png: str | Path | None = None,
) -> dict:
    """Figures of the int8 model at `model_path` on a labelled candidate set (see module docstring)."""
    clf = Classifier(model_path, num_threads=1)
    if not clf.ok:
        raise ValueError(f"classifier model {model_path}: {clf.status}")
    images, labels = data["images"], data["labels"]
    n = len(labels)
    pred = np.empty(n, np.int64)
    loc_err = np.full(n, np.nan)
    for i in range(n):
        res = clf.classify_crop(images[i])
        pred[i] = int(np.argmax(res.probabilities))
        if labels[i] == METEOR and np.all(np.isfinite(data["track_crop_px"][i])):
            px, py = res.peak_crop_px
            ax, ay, bx, by = data["track_crop_px"][i]
            loc_err[i] = float(point_segment_distance(px, py, ax, ay, bx, by)) * float(data["scale"][i])
    m = confusion_matrix(labels, pred)
    tp = m[METEOR, METEOR]
    per_class = {}
    for c, name in enumerate(CLASSES):
        support = int(m[c].sum())
        predicted = int(m[:, c].sum())
        per_class[name] = {
            "support": support,
            "precision": float(m[c, c] / predicted) if predicted else None,
            "recall": float(m[c, c] / support) if support else None,
        }
    meteor_found = (labels == METEOR) & (pred == METEOR) & np.isfinite(loc_err)
    figures = {
        "n_candidates": int(n),
        "meteor_precision": float(tp / m[:, METEOR].sum()) if m[:, METEOR].sum() else None,
        "meteor_recall": float(tp / m[METEOR].sum()) if m[METEOR].sum() else None,
        "accuracy": float(np.mean(pred == labels)) if n else None,
        "per_class": per_class,
        "confusion": m.tolist(),
        "localisation_error_median_px": float(np.median(loc_err[meteor_found]))
        if meteor_found.any()
        else None,
        "localisation_error_p90_px": float(np.percentile(loc_err[meteor_found], 90))
        if meteor_found.any()
        else None,
        "latency_ms_int8": clf.latency_ms(images[0]) if n else None,
        "latency_ms_float": None,
        "int8_vs_float_agreement": None,
        "float_accuracy": None,
        "model_version": clf.model_version,
    }
    logits, interp = _float_outputs(Path(model_path), images)
    if logits is not None:
        fpred = np.argmax(logits, axis=1)
        figures["int8_vs_float_agreement"] = float(np.mean(fpred == pred))
        figures["float_accuracy"] = float(np.mean(fpred == labels))
        figures["latency_ms_float"] = _float_latency_ms(interp, images[0])
    if confusion_png is not None:
        write_confusion_png(m, confusion_png)
        figures["confusion_png"] = str(confusion_png)
    return figures
