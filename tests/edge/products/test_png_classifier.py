"""The product PNG with the classifier's saliency overlay and verdict beside the ADS-B match
(edge.products.png.render_overview with `classification=` and `aircraft=`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from edge.classify.dataset import Candidate
from edge.classify.runtime import Classifier
from edge.products.png import (
    CAPTION_BG,
    PEAK_COLOUR,
    caption_lines,
    overview_metadata,
    read_png,
    render_overview,
    write_png,
)
from edge.protocol.models import AircraftMatch, Classification, ClassLabel, PeakPixel

SHAPE = (270, 480)
MATCH = AircraftMatch(icao24="4ca7b5", callsign="EZY85MH", distance_m=23_400.0, residual_deg=0.12)


@dataclass
class _Placement:
    x0_px: int
    y0_px: int
    scale: int


@dataclass
class _Result:
    classification: Classification
    fused: np.ndarray | None
    crop: _Placement | None


DEG_PER_PX = 0.09  # the plate scale of the events below


def _line_event(x0: float, y0: float, x1: float, y1: float, n: int = 20) -> Candidate:
    """A synthetic meteor: a bright line whose pixels light up one after another."""
    max_pixel = np.full(SHAPE, 10, np.uint8)
    max_frame = np.zeros(SHAPE, np.uint16)
    t = np.linspace(0, 1, 400)
    xs, ys = np.rint(x0 + t * (x1 - x0)).astype(int), np.rint(y0 + t * (y1 - y0)).astype(int)
    max_pixel[ys, xs] = 120
    max_frame[ys, xs] = np.rint(t * (n - 1)).astype(np.uint16)
    k = np.linspace(0, 1, n)
    return Candidate(max_pixel, max_frame, np.full(SHAPE, 10.0, np.float32), np.full(SHAPE, 2.0, np.float32),
                     x0 + k * (x1 - x0), y0 + k * (y1 - y0), 1.8e9 + np.arange(n) / 25.0)  # fmt: skip


def _frame() -> np.ndarray:
    return np.full(SHAPE, 20, np.uint8)


def _tinted(picture: np.ndarray) -> np.ndarray:
    """Pixels the amber overlay tinted (red and green above blue; the track is red, the stars green)."""
    r, g, b = (picture[..., i].astype(int) for i in range(3))
    return (r - b > 10) & (g - b > 10)


def test_without_classifier_the_picture_is_the_frame():
    plain = render_overview(_frame(), [100.0], [50.0], [200.0, 240.0], [100.0, 130.0])
    same = render_overview(_frame(), [100.0], [50.0], [200.0, 240.0], [100.0, 130.0],
                           classification=None, aircraft=None)  # fmt: skip
    assert plain.shape == SHAPE + (3,)
    np.testing.assert_array_equal(plain, same)
    assert not _tinted(plain[: SHAPE[0]]).any()


def test_saliency_lands_where_the_crop_lies():
    fused = np.zeros((64, 64), np.float32)
    fused[20, 10] = 1.0  # crop pixel (x 10, y 20)
    verdict = Classification(label=ClassLabel.METEOR, score=0.93, model_version="m:1",
                             peak_pixel=PeakPixel(x_px=121.5, y_px=91.5))  # fmt: skip
    pic = render_overview(
        _frame(), [], [], [], [], classification=_Result(verdict, fused, _Placement(100, 50, 2))
    )
    frame_part = pic[: SHAPE[0]]
    ys, xs = np.nonzero(_tinted(frame_part))
    assert xs.size > 0
    # crop pixel (10, 20) at scale 2 covers frame columns 120-121, rows 90-91
    assert 118 <= xs.mean() <= 123 and 88 <= ys.mean() <= 93
    assert xs.min() >= 100 and ys.min() >= 50 and xs.max() < 228 and ys.max() < 178
    # the meteor pixel is marked with a cross around it
    cross = np.all(frame_part == PEAK_COLOUR, axis=-1)
    cy, cx = np.nonzero(cross)
    assert cross.sum() >= 4 and abs(cx.mean() - 121.5) < 1.5 and abs(cy.mean() - 91.5) < 1.5
    # and a caption band is added below the frame
    assert pic.shape[0] > SHAPE[0] and pic.shape[1] == SHAPE[1]


def test_crop_partly_outside_the_frame_is_clipped():
    fused = np.ones((64, 64), np.float32)
    verdict = Classification(label=ClassLabel.NOISE, score=0.5)
    pic = render_overview(
        _frame(), [], [], [], [], classification=_Result(verdict, fused, _Placement(-30, -40, 1))
    )
    tinted = _tinted(pic[: SHAPE[0]])
    assert tinted[:24, :34].all() and not tinted[24:, :].any() and not tinted[:, 34:].any()


def test_real_classifier_result_and_aircraft_side_by_side(tmp_path):
    clf = Classifier()
    ev = _line_event(300, 120, 340, 150)
    res = clf.classify_event(ev, DEG_PER_PX)
    assert res.classification.label != ClassLabel.UNCLASSIFIED and res.crop is not None
    assert res.fused.shape == (64, 64)
    pic = render_overview(ev.max_pixel, [], [], ev.x_px, ev.y_px, classification=res, aircraft=MATCH)
    frame_part, band = pic[: SHAPE[0]], pic[SHAPE[0] :]
    ys, xs = np.nonzero(_tinted(frame_part))
    # the overlay is strongest around the line, inside the crop
    assert xs.size > 0 and 280 <= np.median(xs) <= 360 and 100 <= np.median(ys) <= 170
    # text in both halves of the caption band
    text = np.any(band != CAPTION_BG, axis=-1)
    assert text[:, : SHAPE[1] // 2 - 2].sum() > 50 and text[:, SHAPE[1] // 2 + 2 :].sum() > 50
    meta = overview_metadata(res, MATCH)
    path = write_png(tmp_path / "ev.png", pic, {"observation_id": "x", **meta})
    back, text_meta = read_png(path)
    np.testing.assert_array_equal(back, pic)
    assert Classification.model_validate(json.loads(text_meta["classification"])) == res.classification
    assert AircraftMatch.model_validate(json.loads(text_meta["aircraft"])) == MATCH


def test_caption_texts():
    verdict = Classification(label=ClassLabel.AIRCRAFT, score=0.874, model_version="default.tflite:abc",
                             peak_pixel=PeakPixel(x_px=12.4, y_px=40.6))  # fmt: skip
    left, right = caption_lines(verdict, MATCH)
    assert (
        left[0] == "classifier: aircraft 0.87"
        and "pixel (12, 41)" in left[1]
        and "default.tflite:abc" in left[1]
    )
    assert right == ["ADS-B: aircraft EZY85MH (4ca7b5)", "23.4 km, residual 0.12 deg"]
    left, right = caption_lines(
        Classification(label=ClassLabel.UNCLASSIFIED, reason="model unusable: m.tflite not found"),
        None,
        "no receiver",
    )
    assert left == ["classifier: unclassified", "reason: model unusable: m.tflite not found"]
    assert right == ["ADS-B: no receiver"]
    assert caption_lines(None, None)[1] == ["ADS-B: no aircraft matched"]
    assert caption_lines(None, MATCH.model_copy(update={"callsign": None}))[1][0] == "ADS-B: aircraft 4ca7b5"


def test_unclassified_result_draws_no_overlay():
    clf = Classifier("/nonexistent/model.tflite")
    res = clf.classify_event(_line_event(300, 120, 340, 150), DEG_PER_PX)
    pic = render_overview(_frame(), [], [], [], [], classification=res)
    assert not _tinted(pic[: SHAPE[0]]).any() and pic.shape[0] > SHAPE[0]
    assert overview_metadata(res).keys() == {"classification"}


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="AircraftMatch"):
        render_overview(_frame(), [], [], [], [], aircraft={"icao24": "4ca7b5"})
    with pytest.raises(TypeError, match="Classification"):
        render_overview(_frame(), [], [], [], [], classification="meteor")
    verdict = Classification(label=ClassLabel.METEOR, score=0.9)
    with pytest.raises(ValueError, match="square"):
        render_overview(_frame(), [], [], [], [],
                        classification=_Result(verdict, np.zeros((64, 32)), _Placement(0, 0, 1)))  # fmt: skip
