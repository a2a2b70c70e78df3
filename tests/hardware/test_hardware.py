"""Hardware documents are generated from their sources: the BOM's power budget sums, the drawings and
bom.md are up to date, and the enclosure model renders with its pointing parameters."""

import importlib.util
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HW = ROOT / "hardware"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"hardware_tools_{name}", HW / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[f"hardware_tools_{name}"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


bom = _load("bom")
drawings = _load("drawings")


def test_power_budget_sums_the_csv_by_hand():
    parts = bom.read_bom()
    pi = bom.variant_parts(parts, "pi5")
    # independent sum: 4 cameras x 2.5 W, switch 2, GPS 0.15, SDR 1.5, heaters 4 x 1, fan 0.6,
    # Pi 6, SSD 1.5, cooler 0.3
    assert bom.power_budget(pi)["load_typ_w"] == pytest.approx(10 + 2 + 0.15 + 1.5 + 4 + 0.6 + 6 + 1.5 + 0.3)
    low = 0.15 + 1.5 + 6 + 1.5 + 0.3  # 5 V and 3.3 V loads go through the buck
    rail = 10 + 2 + 4 + 0.6 + low / bom.BUCK_EFFICIENCY
    assert bom.power_budget(pi)["rail_12v_typ_w"] == pytest.approx(rail)
    for variant in ("pi5", "pc"):
        b = bom.power_budget(bom.variant_parts(parts, variant))
        assert b["rail_12v_max_w"] < 60.0, "the 60 W supply must carry the maximum load"
        assert b["load_typ_w"] <= b["load_max_w"]
    assert not [p for p in parts if p.variant == "pc" and "Raspberry" in p.item]


def test_bom_rejects_a_row_without_reason(tmp_path):
    bad = tmp_path / "bom.csv"
    lines = (HW / "bom.csv").read_text().splitlines()
    bad.write_text("\n".join([lines[0], "pi5,Thing,1,10,12V,1,2,example,cheap"]) + "\n")
    with pytest.raises(ValueError, match="reason"):
        bom.read_bom(bad)
    bad.write_text(
        "\n".join([lines[0], "pi5,Thing,1,10,24V,1,2,example,because it is the right thing here"]) + "\n"
    )
    with pytest.raises(ValueError, match="supply"):
        bom.read_bom(bad)


def test_generated_files_are_up_to_date():
    assert bom.main(["--check"]) == 0, "hardware/bom.md is stale: run python hardware/tools/bom.py"
    assert drawings.main(["--check"]) == 0, "drawings are stale: run python hardware/tools/drawings.py"


def test_drawings_regenerate_as_valid_svg_with_the_pps_pin(tmp_path):
    assert drawings.main(["--out", str(tmp_path)]) == 0
    pi = ET.parse(tmp_path / "gps_pi5.svg").getroot()
    text = " ".join(t.text or "" for t in pi.iter("{http://www.w3.org/2000/svg}text"))
    assert "pin 12: GPIO18 (PPS in)" in text
    assert "dtoverlay=pps-gpio,gpiopin=18" in text
    for name in ("gps_pc.svg", "station.svg"):
        assert ET.parse(tmp_path / name).getroot().tag.endswith("svg")


def _stl_vertices(path: Path) -> list[tuple[float, float, float]]:
    data = path.read_bytes()
    if data[:5] == b"solid" and b"facet" in data[:400]:
        return [
            tuple(map(float, line.split()[1:4])) for line in data.decode().splitlines() if "vertex" in line
        ]
    n = struct.unpack("<I", data[80:84])[0]
    out = []
    for i in range(n):
        vals = struct.unpack("<12f", data[84 + 50 * i : 84 + 50 * i + 48])
        out += [vals[3:6], vals[6:9], vals[9:12]]
    return out


@pytest.mark.skipif(
    shutil.which("openscad") is None, reason="openscad is not installed (apt-get install openscad)"
)
def test_enclosure_renders_and_points_its_cameras(tmp_path):
    if shutil.which("xvfb-run") is None:
        pytest.skip(
            "xvfb-run is not installed (apt-get install xvfb); the PNG preview needs it without a display"
        )
    # coarse facets and no camera internals keep the CGAL render to a few seconds
    fast = ["-D", "$fn=12", "-D", "show_cameras=false"]
    subprocess.run([str(HW / "enclosure" / "render.sh"), str(tmp_path / "a"), *fast], check=True)
    assert (tmp_path / "a" / "head.png").stat().st_size > 5000
    assert len(_stl_vertices(tmp_path / "a" / "head.stl")) > 300
    # one camera at azimuth 90 (east), elevation 30: the tube's top lies east of the axis
    one = [*fast, "-D", "cam_azimuths_deg=[90]", "-D", "cam_elevation_deg=30"]
    subprocess.run([str(HW / "enclosure" / "render.sh"), str(tmp_path / "b"), *one], check=True)
    top = [v for v in _stl_vertices(tmp_path / "b" / "head.stl") if v[2] > 90 + 3 + 60 + 1]
    assert top, "the camera tube should rise above the hub"
    mean_x = sum(v[0] for v in top) / len(top)
    mean_y = sum(v[1] for v in top) / len(top)
    assert mean_x > 20.0 and abs(mean_y) < 5.0
