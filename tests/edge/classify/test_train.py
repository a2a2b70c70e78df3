"""The training command end to end on a tiny configuration (a few steps, a handful of events).

Checks that `skytrail train classifier` still runs: fine-tuning the shipped float model (`--init`)
on a folder of labelled events (`--labelled`), int8 export, weights and model card beside the model,
and that the runtime loads what it wrote, finds its three int8 outputs and classifies an event.
About 25 s of CPU, most of it TensorFlow tracing the training step and calibrating the int8
export; rendering simulated nights is left out (`test_dataset` covers it). Needs the [train] extra
(tensorflow-cpu)."""

from __future__ import annotations

import argparse
import importlib.util

import numpy as np
import pytest
from classify_events import DEG_PER_PX
from classify_events import line_event as _line_event

from edge.classify.dataset import CLASSES
from edge.classify.runtime import DEFAULT_MODEL, Classifier

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None, reason="tensorflow (the [train] extra) is not installed"
)


def _write_events(folder, rng):
    for i in range(4):
        d = folder / "meteor"
        d.mkdir(parents=True, exist_ok=True)
        x0, y0 = rng.uniform(50, 400), rng.uniform(30, 200)
        ev = _line_event(x0, y0, x0 + rng.uniform(10, 60), y0 + rng.uniform(-40, 40))
        np.savez(d / f"ev{i}.npz", **vars(ev), deg_per_px=DEG_PER_PX)
    for i in range(4):
        d = folder / "noise"
        d.mkdir(parents=True, exist_ok=True)
        shape = (270, 480)
        np.savez(
            d / f"ev{i}.npz", max_pixel=rng.integers(8, 16, shape).astype(np.uint8),
            max_frame=rng.integers(0, 20, shape).astype(np.uint16), mean=np.full(shape, 10.0, np.float32),
            std=np.full(shape, 2.0, np.float32), x_px=rng.uniform(100, 110, 3), y_px=rng.uniform(100, 110, 3),
            t_unix=1.8e9 + np.sort(rng.uniform(0, 1, 3)), deg_per_px=DEG_PER_PX,
        )  # fmt: skip


def test_train_command_runs_end_to_end(tmp_path):
    from edge.classify.cli import register

    _write_events(tmp_path / "events", np.random.default_rng(3))
    parser = argparse.ArgumentParser()
    register(parser, "classifier")
    out = tmp_path / "model" / "tiny.tflite"
    argv = ["--out", str(out), "--init", str(DEFAULT_MODEL.with_suffix(".keras")), "--labelled",
            str(tmp_path / "events"), "--epochs", "1", "--batch", "4", "--max-steps", "2",
            "--heldout-nights", "0", "--representative", "4"]  # fmt: skip
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    for suffix in (".tflite", ".npz", ".keras", ".md"):
        assert out.with_suffix(suffix).is_file()
    assert "skytrail train classifier" in out.with_suffix(".md").read_text()
    clf = Classifier(out)
    assert clf.ok, clf.status
    # the exported int8 model has the runtime's three outputs: logits, last block, first conv
    shapes = {name: shape for name, (shape, _dtype) in clf.outputs.items()}
    assert shapes["logits"] == (1, 7) and shapes["first_conv"][:3] == (1, 64, 64)
    assert shapes["last_block"][1:3] == (4, 4) and shapes["last_block"][3] == clf.dense_w.shape[0]
    assert all(dtype == np.int8 for _shape, dtype in clf.outputs.values())
    res = clf.classify_event(_line_event(300, 120, 340, 150), DEG_PER_PX)
    c = res.classification
    assert c.label.value in CLASSES and 0.0 <= c.score <= 1.0 and c.model_version.startswith("tiny.tflite:")
    assert res.fused.shape == (64, 64) and c.peak_pixel is not None


def test_resnet_outputs_and_grad_cam_resolution():
    from edge.classify.train import build_resnet

    for depth, cam_px in ((18, 4), (34, 8)):
        model = build_resnet(depth, 16, cam_px=cam_px)
        assert [tuple(o.shape) for o in model.outputs] == [(None, 7), (None, cam_px, cam_px, 128),
                                                           (None, 64, 64, 16)]  # fmt: skip
    with pytest.raises(ValueError, match="cam_px"):
        build_resnet(18, 16, cam_px=2)
    with pytest.raises(ValueError, match="depth"):
        build_resnet(50, 16)


def test_a_model_for_fewer_channels_is_widened_unchanged():
    """`--init` with a model made for crops of fewer channels: the same network for today's crops,
    which gives the old model's outputs while the new channels are zero, and which learns them."""
    from edge.classify.preprocess import N_CHANNELS
    from edge.classify.train import _with_input_channels, build_resnet

    old = build_resnet(18, 16, channels=N_CHANNELS - 2)
    crops = np.random.default_rng(5).uniform(0, 1, (3, 64, 64, N_CHANNELS)).astype(np.float32)
    crops[..., N_CHANNELS - 2 :] = 0.0
    new = _with_input_channels(old)
    assert tuple(new.input.shape) == (None, 64, 64, N_CHANNELS)
    for a, b in zip(
        old.predict(crops[..., : N_CHANNELS - 2], verbose=0), new.predict(crops, verbose=0), strict=True
    ):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert _with_input_channels(new) is new
    with pytest.raises(ValueError, match="input channels"):
        _with_input_channels(build_resnet(18, 16, channels=N_CHANNELS + 1))
