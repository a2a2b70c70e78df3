"""The training command end to end on a tiny configuration (a few steps, a handful of events).

Checks that `skytrail train classifier` still runs: fine-tuning the shipped float model (`--init`)
on a folder of labelled events (`--labelled`), int8 export, weights and model card beside the model,
and that the runtime accepts what it wrote. Needs the [train] extra (tensorflow-cpu)."""

from __future__ import annotations

import argparse
import importlib.util

import numpy as np
import pytest

from edge.classify.runtime import DEFAULT_MODEL, Classifier

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None, reason="tensorflow (the [train] extra) is not installed"
)


def _write_events(folder, rng):
    from tests.edge.classify.test_preprocess import _line_event

    for i in range(4):
        d = folder / "meteor"
        d.mkdir(parents=True, exist_ok=True)
        x0, y0 = rng.uniform(50, 400), rng.uniform(30, 200)
        ev = _line_event(x0, y0, x0 + rng.uniform(10, 60), y0 + rng.uniform(-40, 40))
        np.savez(d / f"ev{i}.npz", **vars(ev))
    for i in range(4):
        d = folder / "noise"
        d.mkdir(parents=True, exist_ok=True)
        shape = (270, 480)
        np.savez(
            d / f"ev{i}.npz", max_pixel=rng.integers(8, 16, shape).astype(np.uint8),
            max_frame=rng.integers(0, 20, shape).astype(np.uint16), mean=np.full(shape, 10.0, np.float32),
            std=np.full(shape, 2.0, np.float32), x_px=rng.uniform(100, 110, 3), y_px=rng.uniform(100, 110, 3),
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
    res = clf.classify_crop(np.zeros((64, 64, 2), np.float32))
    assert res.classification.label.value in ("meteor", "satellite", "aircraft", "insect", "cloud",
                                              "lightning", "noise")  # fmt: skip
