"""The main job, on a small network: simulate, draw each camera, process, solve, compare with truth."""

import numpy as np
from PIL import Image

from skytrail.cli import main


def test_demo_draws_every_camera_and_prints_the_truth(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--stations", "2", "--cameras", "2", "--binning", "4", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "geocentric radiant asked" in text and "recomputed from the track" in text
    # the stations' processing made reports and the bridge solved the event from them
    assert "observation reports in" in text and "Solved from st1, st2" in text, text
    error = float(text.split("radiant error ")[1].split(" deg")[0])
    assert error < 0.5
    assert text.count("catalogue stars") == 4
    overview = Image.open(out / "overview.png")
    assert overview.width == 2 * 480
    pngs = sorted(p.relative_to(out).as_posix() for p in out.glob("st*/*_max.png"))
    assert pngs == ["st1/cam1_max.png", "st1/cam2_max.png", "st2/cam1_max.png", "st2/cam2_max.png"]
    # the meteor is drawn in red where the truth puts it, in at least one camera
    reds = 0
    for p in pngs:
        rgb = np.asarray(Image.open(out / p).convert("RGB")).astype(int)
        reds += int(np.sum((rgb[..., 0] > 200) & (rgb[..., 1] < 100) & (rgb[..., 2] < 100)))
    assert reds > 20
