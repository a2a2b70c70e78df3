"""The camera process's per-frame work without processes (`LiveDetector`): the star stack that live
events are calibrated on, the detector restarted when the frame times jump, and the classifier's
input made as its training made it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge.camera.recording import read_recording
from edge.process import CameraState, MeasureContext, detector_config_for, measure_event, recording_context
from edge.station.camera_process import LiveDetector
from edge.station.event_queue import event_from_bytes, event_to_bytes
from edge.station.extractor import classifier_view, trim_to_clip


@pytest.fixture(scope="module")
def rec(meteor_recording):
    return read_recording(meteor_recording)


def _live(rec, **kw) -> LiveDetector:
    ctx = recording_context("rec", rec, CameraState())
    h, w = rec.frames.shape[1:]
    return LiveDetector(w, h, detector_config_for(ctx.nominal, float(rec.meta["fps"])), None, **kw)


def _feed(live: LiveDetector, rec, t_shift_s: float = 0.0, index0: int = 0) -> list[tuple]:
    out = []
    for k in range(len(rec.frames)):
        out += live.feed(
            np.ascontiguousarray(rec.frames[k]), index0 + k, float(rec.utc_unix_s[k]) + t_shift_s
        )
    return out


def _fast(pairs):
    return [(ev, st) for ev, st in pairs if ev.kind == "fast"]


def test_star_stack_leaves_the_meteor_out_and_calibrates_the_live_event(rec):
    live = _live(rec)
    pairs = _fast(_feed(live, rec) + live.flush())
    assert len(pairs) == 1
    ev, stack = pairs[0]
    # the meteor's frames are in the stack, its light is not: along the track the stack is the quiet sky
    first = int(ev.frame_index.min())
    quiet = rec.frames[: first - 2].astype(np.float32).mean(0)
    naive = rec.frames[: stack.n_frames].astype(np.float32).mean(0)
    ys, xs = np.rint(ev.y_px).astype(int), np.rint(ev.x_px).astype(int)
    trail_naive = float(np.max(naive[ys, xs] - quiet[ys, xs]))
    trail_stack = float(np.max(stack.mean[ys, xs] - quiet[ys, xs]))
    assert stack.n_frames > len(ev.clip_frame_index) and stack.n_frames >= first
    assert trail_naive > 1.0 and abs(trail_stack) < 0.25 * trail_naive, (trail_naive, trail_stack)
    assert np.all(stack.peak[ys, xs] < rec.frames[ev.frame_index, ys, xs])  # its peaks left out too
    # calibration on it: at least as many stars as on the event's own clip
    ctx = recording_context("rec", rec, CameraState())
    base = dict(
        station_id="st1", camera_id="cam1", site=ctx.site, atmosphere=ctx.atmosphere, nominal=ctx.nominal,
        time_quality=ctx.time_quality, fps=ctx.fps, exposure_s=ctx.exposure_s,
    )  # fmt: skip
    on_stack = measure_event(MeasureContext(**base, star_stack=stack), trim_to_clip(ev))
    on_clip = measure_event(MeasureContext(**base), trim_to_clip(ev))
    assert on_stack["stack_source"].startswith("star stack") and on_clip["stack_source"].startswith(
        "event clip"
    )
    assert on_stack["cal"].ok and on_stack["cal"].n_stars >= on_clip["cal"].n_stars
    print(
        f"FIGURE star_stack_frames={stack.n_frames} stars={on_stack['cal'].n_stars} "
        f"residual_arcmin={on_stack['cal'].residual_arcmin:.3f} | clip_frames={len(ev.clip_frame_index)} "
        f"stars={on_clip['cal'].n_stars} residual_arcmin={on_clip['cal'].residual_arcmin:.3f}"
    )


def test_failed_fit_falls_back_to_the_last_good_model(rec):
    live = _live(rec)
    ev, stack = _fast(_feed(live, rec) + live.flush())[0]
    ctx = recording_context("rec", rec, CameraState())
    state = CameraState()
    kw = dict(
        station_id="st1", camera_id="cam1", site=ctx.site, atmosphere=ctx.atmosphere, nominal=ctx.nominal,
        time_quality=ctx.time_quality, fps=ctx.fps, exposure_s=ctx.exposure_s, state=state,
    )  # fmt: skip
    good = measure_event(MeasureContext(**kw, star_stack=stack), trim_to_clip(ev))
    assert good["cal"].ok and state.last_good is good["cal"].model
    cloudy = type(stack)(np.full_like(stack.mean, 20.0), np.full_like(stack.peak, 20), stack.t_unix, 10_000)
    m = measure_event(MeasureContext(**kw, star_stack=cloudy), trim_to_clip(ev))
    assert not m["cal"].ok and m["trusted"] and m["cal"].model is good["cal"].model
    assert np.isfinite(m["pos"]["ra_deg"]).all()


def test_time_jump_restarts_the_detector_and_the_star_stack(rec):
    live = _live(rec)
    n = len(rec.frames)
    span_s = float(rec.utc_unix_s[-1] - rec.utc_unix_s[0])
    first = _feed(live, rec)
    assert live.restarts == 0
    # the same sky 60 s later (a playlist's next file, a camera paused): a new background
    second = _feed(live, rec, t_shift_s=60.0 + span_s, index0=n)
    assert live.restarts == 1
    pairs = _fast(first + second + live.flush())
    assert len(pairs) == 2  # one meteor per copy, nothing made of the jump itself
    for k, (ev, stack) in enumerate(pairs):
        t0 = float(rec.utc_unix_s[0]) + k * (60.0 + span_s)
        assert t0 <= ev.t_unix[0] <= t0 + span_s
        assert t0 <= stack.t_unix <= t0 + span_s  # each stack from its own copy's frames
    # a short gap (dropped frames) is the continuation; a step back in time restarts too
    live2 = _live(rec)
    _feed(live2, rec)
    live2.feed(np.ascontiguousarray(rec.frames[0]), n + 10, float(rec.utc_unix_s[-1]) + 1.0)
    assert live2.restarts == 0
    live2.feed(np.ascontiguousarray(rec.frames[1]), n + 11, float(rec.utc_unix_s[0]))
    assert live2.restarts == 1


def test_spilled_event_keeps_its_star_stack(rec):
    live = _live(rec)
    ev, stack = _fast(_feed(live, rec) + live.flush())[0]
    info = {"camera_id": "cam1", "nominal_model": {"a": 1}, "star_stack": stack.to_info()}
    back_info, back = event_from_bytes(event_to_bytes(info, ev))
    assert back_info["nominal_model"] == {"a": 1} and back_info["star_stack"]["n_frames"] == stack.n_frames
    assert np.array_equal(back_info["star_stack"]["mean"], stack.mean)
    assert np.array_equal(back_info["star_stack"]["peak"], stack.peak)
    assert np.array_equal(back.clip, ev.clip)


def test_classifier_input_is_made_as_training_made_it(rec):
    """`classifier_view` of a detector event equals `edge.classify.dataset.aggregate` of the same frames
    (the aggregation the classifier was trained on) inside the clip's box."""
    from edge.classify.dataset import aggregate

    live = _live(rec)
    ev, _ = _fast(_feed(live, rec) + live.flush())[0]
    view = classifier_view(ev)
    lo, hi = int(ev.frame_index.min()) - 1, int(ev.frame_index.max()) + 1
    clip_first = int(ev.clip_frame_index[0])
    cand = aggregate(rec.frames, lo, hi, ev.x_px, ev.y_px, ev.t_unix, bg_frames=lo - clip_first)
    x0, y0 = ev.clip_origin
    h, w = ev.clip.shape[1:]
    box = (slice(y0, y0 + h), slice(x0, x0 + w))
    both = cand.std[box] != 1.0  # aggregate fills only the crop's neighbourhood
    assert both.sum() > 0.5 * both.size
    assert np.allclose(view.mean[box][both], cand.mean[box][both], atol=1e-3)
    assert np.allclose(view.std[box][both], cand.std[box][both], atol=1e-3)
    assert np.array_equal(view.max_pixel[box][both], cand.max_pixel[box][both])
    # the time channel: the same frame of the maximum (the detector counts from the clip's first frame)
    offset = lo - clip_first
    assert np.array_equal(view.max_frame[box][both], cand.max_frame[box][both] + offset)
    assert np.array_equal(view.t_unix, ev.t_unix)  # the track's times: its speed and duration


def test_products_are_queued_for_upload_and_named_in_the_report(rec, tmp_path):
    """With `[uplink] http_url` the extractor queues the product files (durable) and the report's
    `products[].url` says where the bridge will serve them."""
    import sqlite3

    from edge.camera.backend import simulated_time_quality
    from edge.station.config import validate_config
    from edge.station.extractor import Extractor, upload_spool

    cfg = validate_config(
        {
            "station": {
                "id": "st1",
                "latitude_deg": 40.45,
                "longitude_deg": 116.6,
                "data_dir": str(tmp_path),
            },
            "uplink": {"http_url": "https://bridge.example.org/"},
            "classifier": {"enabled": False},
        }
    )
    live = _live(rec)
    ev, stack = _fast(_feed(live, rec) + live.flush())[0]
    info = {
        "station_id": "st1",
        "camera_id": "cam1",
        "width_px": ev.mean.shape[1],
        "height_px": ev.mean.shape[0],
        "fps": float(rec.meta["fps"]),
        "exposure_s": float(rec.meta["exposure_s"]),
        "nominal_model": rec.meta["nominal_model"],
        "time_quality": simulated_time_quality().model_dump(mode="json"),
        "star_stack": stack.to_info(),
    }
    ex = Extractor(cfg)
    summary = ex.process(info, ev)
    report = json.loads(
        (tmp_path / "products" / "st1" / "cam1" / f"{summary['observation_id']}.json").read_text()
    )
    urls = {p["name"]: p["url"] for p in report["products"]}
    assert len(urls) == 4
    for name, url in urls.items():
        assert url == f"https://bridge.example.org/files/st1/{summary['observation_id']}/{name}"
    with sqlite3.connect(upload_spool(tmp_path)) as db:
        queued = {
            r[0]
            for r in db.execute(
                "SELECT name FROM uploads WHERE observation_id = ?", (summary["observation_id"],)
            )
        }
    assert queued == set(urls)
    ex.process(info, ev)  # the same event again (a restart): queued once
    with sqlite3.connect(upload_spool(tmp_path)) as db:
        assert db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0] == 4
    assert summary["calibrated"]


def test_events_held_for_a_missing_extractor_are_bounded_in_bytes(rec, tmp_path, monkeypatch):
    from edge.station import camera_process

    live = _live(rec)
    ev, stack = _fast(_feed(live, rec) + live.flush())[0]
    item = ({"camera_id": "cam1", "star_stack": stack.to_info()}, ev)
    size = camera_process.item_bytes(item)
    assert size > stack.mean.nbytes + ev.mean.nbytes
    monkeypatch.setattr(camera_process, "MAX_HELD_BYTES", int(2.5 * size))
    sender = camera_process.EventSender(tmp_path / "nobody.sock", "cam1")  # no extractor listening
    try:
        for _ in range(4):
            sender.put(item)
        assert sender.held == 2 and sender.dropped == 2
    finally:
        sender.close(timeout_s=0.1)
