"""The main job on a small network: simulate, run the bridge and the stations as processes, solve over
MQTT, compare with the truth."""

import re

import numpy as np
from PIL import Image

from skytrail.cli import main


def test_demo_runs_the_network_and_solves_the_meteor(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--stations", "2", "--cameras", "2", "--binning", "4", "--events", "1", "--once",
            "--out", str(out), "--timeout", "600"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "geocentric radiant asked" in text and "recomputed from the track" in text
    # the reports went through the real stations, the uplink and the broker into the bridge's database
    assert "Solved events against the truth" in text, text
    error = float(re.search(r"radiant error ([0-9.]+) deg", text).group(1))
    assert error < 0.5, text
    assert re.search(r"Web pages: http://127\.0\.0\.1:\d+/", text)
    stations = out / "network" / "stations"
    products = sorted(p.name for p in stations.glob("st*/products/st*/cam*/*.json"))
    assert products, "the stations wrote no products"
    # the first meteor's cameras are drawn, the meteor in red where the truth puts it
    overview = Image.open(out / "overview.png")
    assert overview.width == 2 * 480
    pngs = sorted(p.relative_to(out / "e01").as_posix() for p in (out / "e01").glob("st*/*_max.png"))
    assert pngs == ["st1/cam1_max.png", "st1/cam2_max.png", "st2/cam1_max.png", "st2/cam2_max.png"]
    reds = 0
    for p in pngs:
        rgb = np.asarray(Image.open(out / "e01" / p).convert("RGB")).astype(int)
        reds += int(np.sum((rgb[..., 0] > 200) & (rgb[..., 1] < 100) & (rgb[..., 2] < 100)))
    assert reds > 20
