"""`skytrail bench classify`: the classifier's cost per detector event on one core.

Candidates: one short simulated night (`edge.classify.dataset`, the held-out parameters), as the
detector hands them over. Timed, interleaved, best of `repeats`: the whole station path per event
(`Classifier.classify_event`: crop, int8 inference, closed-form Grad-CAM, fusion), the int8
inference alone, and the baseline, the crop alone (`edge.classify.preprocess.crop_from_event`, the
work any classifier of these events has to do).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from edge.classify.dataset import HELDOUT_PARAMS, Candidate, aggregate, render_frames
from edge.classify.preprocess import crop_from_event
from edge.classify.runtime import Classifier


def _events(seed: int = 4242, n_max: int = 40) -> tuple[list[Candidate], float]:
    """Meteor and satellite candidates of a 4-s simulated night, and its plate scale (deg/px)."""
    params = replace(HELDOUT_PARAMS, night_s=4.0)
    plan, frames, t = render_frames(seed, params, np.random.default_rng(seed), cloudy=False)
    events = []
    for obj in plan.truth:
        f = obj.frame_index[obj.in_field][:64]
        if f.size >= 3:
            lo, hi = max(0, int(f[0]) - 1), min(len(frames) - 1, int(f[-1]) + 1)
            events.append(
                aggregate(frames, lo, hi, obj.x_px[obj.in_field][:64], obj.y_px[obj.in_field][:64], t[f])
            )
    return events[:n_max], plan.camera.model.pixel_scale_arcmin / 60.0


def run_bench(repeats: int = 3) -> dict:
    clf = Classifier(num_threads=1)
    if not clf.ok:
        raise RuntimeError(f"classifier model unusable: {clf.status}")
    events, deg_per_px = _events()
    crops = [crop_from_event(e, deg_per_px) for e in events]

    def best_ms(fn) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return 1e3 * min(times) / len(events)

    crop_ms, infer_ms, event_ms = [], [], []
    for _ in range(repeats):  # interleaved: each round times all three under the same load
        crop_ms.append(best_ms(lambda: [crop_from_event(e, deg_per_px) for e in events]))
        infer_ms.append(best_ms(lambda: [clf.run(c.image) for c in crops]))
        event_ms.append(best_ms(lambda: [clf.classify_event(e, deg_per_px) for e in events]))
    crop, infer, event = min(crop_ms), min(infer_ms), min(event_ms)
    return {
        "model": clf.model_version,
        "events": len(events),
        "frame_shape": list(events[0].max_pixel.shape),
        "crop_ms_per_event": round(crop, 3),
        "int8_inference_ms_per_event": round(infer, 3),
        "classify_event_ms_per_event": round(event, 3),
        "classify_event_vs_crop": round(event / crop, 2),
        "threads": 1,
    }
