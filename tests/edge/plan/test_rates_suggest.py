"""Expected multi-station rates and suggested pointings."""

import json
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from edge.plan.coverage import LayerGrid, network_coverage
from edge.plan.maps import COLOURS, class_image, write_png, write_svg
from edge.plan.network import PlanStation, head_cameras, load_stations, m3_beijing_network, offset_place
from edge.plan.rates import flux_6p5_per_km2_h, limiting_abs_mag, multistation_rate_per_h
from edge.plan.suggest import suggest_pointings


def test_flux_formula_by_hand():
    # Koschack & Rendtel: ZHR 100, r 2.0: 100 * (26.2 - 16.5) * 0.7^0.748 / 37200
    assert flux_6p5_per_km2_h(100.0, 2.0) == pytest.approx(100 * 9.7 * 0.7**0.748 / 37200, rel=1e-12)
    with pytest.raises(ValueError, match="population index"):
        flux_6p5_per_km2_h(100.0, 1.2)
    with pytest.raises(ValueError, match="zhr"):
        flux_6p5_per_km2_h(-1.0, 2.5)


def test_limiting_magnitude_at_100_km_overhead_is_the_camera_limit():
    assert limiting_abs_mag(1.0, 90.0, 100.0) == pytest.approx(1.0, abs=1e-3)
    # ten times farther: 5 magnitudes brighter, plus extinction at low elevation
    assert limiting_abs_mag(1.0, 20.0, 1000.0) < -4.0


def test_rate_is_the_flux_times_the_area_for_a_uniform_limit():
    cov = network_coverage(m3_beijing_network(), cell_km=20.0)
    base = multistation_rate_per_h(cov, zhr=100.0, r=2.5)["multistation_meteors_per_h"]
    double = multistation_rate_per_h(cov, zhr=200.0, r=2.5)["multistation_meteors_per_h"]
    low = multistation_rate_per_h(cov, zhr=100.0, r=2.5, radiant_alt_deg=30.0)["multistation_meteors_per_h"]
    brighter_cut = multistation_rate_per_h(cov, zhr=100.0, r=2.5, lim_mag=0.0)["multistation_meteors_per_h"]
    assert double == pytest.approx(2 * base, rel=1e-3)
    assert low == pytest.approx(0.5 * base, rel=1e-3)
    assert brighter_cut == pytest.approx(base / 2.5, rel=1e-3)  # one magnitude = a factor r
    # bounds: flux at the best and worst limits seen, times the triangulable area
    area = cov.summary()["triangulable_area_km2"]
    q = flux_6p5_per_km2_h(100.0, 2.5)
    assert q * 2.5 ** (-3.5 - 6.5) * area < base < q * 2.5 ** (1.0 - 6.5) * area
    with pytest.raises(ValueError, match="radiant"):
        multistation_rate_per_h(cov, zhr=100.0, radiant_alt_deg=-5.0)


def _pair():
    old = PlanStation("old", 40.45, 116.6, 100.0, head_cameras("m3-8mm", 4))
    lat, lon = offset_place(40.45, 116.6, 60.0, 150.0)
    return old, PlanStation("new", lat, lon, 120.0)


def test_suggest_beats_same_azimuths_and_the_gain_is_real_on_a_finer_grid():
    old, new = _pair()
    s = suggest_pointings(new, [old], cell_km=10.0)
    assert s.overlap_km2 >= s.naive_overlap_km2
    # independent check: the two-station network's triangulable area on a different, finer grid
    grid = LayerGrid.around([old, new], cell_km=5.0)
    got = network_coverage([old, s.station], grid).summary()["triangulable_area_km2"]
    naive = network_coverage([old, s.naive], grid).summary()["triangulable_area_km2"]
    assert got >= naive
    assert got > 1.05 * naive  # pointing toward the neighbour pays off here (measured +20 %)
    assert [c.az_deg for c in s.naive.cameras] == [0.0, 90.0, 180.0, 270.0]
    assert len(s.station.cameras) == 4


def test_suggest_never_worse_than_naive_for_other_places():
    old, _ = _pair()
    for bearing, dist in ((0.0, 100.0), (200.0, 220.0)):
        lat, lon = offset_place(40.45, 116.6, bearing, dist)
        s = suggest_pointings(PlanStation("n", lat, lon, 0.0), [old], cell_km=20.0, refine_rounds=1)
        assert s.overlap_km2 >= s.naive_overlap_km2


def test_suggest_needs_neighbours_with_cameras():
    _, new = _pair()
    with pytest.raises(ValueError, match="neighbour"):
        suggest_pointings(new, [])
    with pytest.raises(ValueError, match="ideal"):
        suggest_pointings(new, [PlanStation("x", 40.0, 116.0, 0.0)])


def test_load_stations_from_a_simulator_scenario(tmp_path):
    from edge.sim.config import Scenario, default_network

    path = tmp_path / "net.json"
    path.write_text(Scenario(stations=default_network(3, 4)).model_dump_json())
    stations = load_stations(path)
    assert [s.station_id for s in stations] == ["st1", "st2", "st3"]
    assert stations[0].cameras[0].profile.name == "m3-8mm"
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "stations": [
                    {
                        "station_id": "x1",
                        "lat_deg": 0,
                        "lon_deg": 0,
                        "height_m": 0,
                        "cameras": [{"camera_id": "c", "az_deg": 0, "alt_deg": 45, "profile": "nope"}],
                    }
                ]
            }
        )
    )
    with pytest.raises(ValueError, match=r"stations\[0\].*unknown camera profile"):
        load_stations(bad)
    empty = tmp_path / "empty.toml"
    empty.write_text("seed = 1\n")
    with pytest.raises(ValueError, match="stations"):
        load_stations(empty)


def test_maps_show_the_triangulable_area(tmp_path):
    stations = m3_beijing_network(profile="m3-8mm")
    cov = network_coverage(stations, cell_km=20.0)
    classes = class_image(cov)
    orange_cells = np.all(classes == COLOURS["triangulable"], axis=-1)
    assert np.sum(cov.grid.area_km2[orange_cells]) == pytest.approx(
        cov.summary()["triangulable_area_km2"], abs=1.0
    )
    png = np.asarray(Image.open(write_png(cov, tmp_path / "m.png", px_per_cell=8)).convert("RGB"))
    assert png.shape[:2] == (8 * cov.grid.shape[0], 8 * cov.grid.shape[1])
    orange_px = np.all(png == COLOURS["triangulable"], axis=-1).sum()
    assert 0.6 < orange_px / (64 * orange_cells.sum()) <= 1.0  # footprint outlines cover the rest
    root = ET.parse(write_svg(cov, tmp_path / "m.svg")).getroot()
    polygons = root.findall(".//{http://www.w3.org/2000/svg}polygon")
    assert len(polygons) == 16  # one footprint per camera


def test_cli_coverage_and_suggest(tmp_path, capsys):
    import argparse

    from edge.plan.cli import register

    parser = argparse.ArgumentParser()
    register(parser, "plan")
    args = parser.parse_args(
        ["coverage", "--m3", "--ideal", "--cell-km", "20", "--svg", str(tmp_path / "c.svg")]
    )
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["triangulable_area_km2"] == pytest.approx(267_800, rel=0.15)
    assert (tmp_path / "c.svg").exists()
    args = parser.parse_args(
        ["suggest", "--lat", "41.0", "--lon", "118.0", "--cell-km", "20", "--out", str(tmp_path / "new.json")]
    )
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["suggested_overlap_km2"] >= out["naive_overlap_km2"]
    assert load_stations(tmp_path / "new.json")[0].station_id == "new"
    assert math.isfinite(out["gain_percent"])
