"""The `skytrail` command: every group answers --help."""

import json

import pytest

from skytrail.bench import write_section
from skytrail.cli import GROUPS, main


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_group_has_help(group, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([group, "--help"])
    assert exit_info.value.code == 0
    assert group in capsys.readouterr().out


def test_sim_event_through_the_command_line(tmp_path, capsys):
    out = tmp_path / "ev"
    rc = main(
        [
            "sim",
            "event",
            "--stations",
            "2",
            "--cameras",
            "1",
            "--binning",
            "8",
            "--seed",
            "4",
            "--margin",
            "0.1",
            "--shower",
            "GEM",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["shower"] == "GEM"
    truth = json.loads((out / "truth.json").read_text())
    assert [c["file"] for c in truth["cameras"]] == ["st1/cam1.npz", "st2/cam1.npz"]
    assert all((out / c["file"]).exists() for c in truth["cameras"])


def test_sim_event_from_a_scenario_file(tmp_path, capsys):
    assert main(["sim", "scenario", "--stations", "1", "--cameras", "1"]) == 0
    scenario = json.loads(capsys.readouterr().out)
    scenario["stations"][0]["cameras"][0]["binning"] = 8
    scenario["margin_s"] = 0.1
    scenario["meteor"]["shower"] = "SPO"
    scenario["meteor"]["v_g_kms"] = 25.0
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    assert main(["sim", "event", "--config", str(path), "--out", str(tmp_path / "ev")]) == 0
    truth = json.loads((tmp_path / "ev" / "truth.json").read_text())
    assert truth["meteor"]["shower"] is None
    assert truth["meteor"]["radiant_from_state"]["v_g_kms"] == pytest.approx(25.0, rel=1e-9)


def test_bench_writes_its_own_section_and_keeps_the_others(tmp_path):
    page = tmp_path / "benchmarks.md"
    write_section("one", "First", {"a": 1}, page)
    write_section("two", "Second", {"b": 2}, page)
    write_section("one", "First", {"a": 3}, page)
    text = page.read_text()
    assert "| a | 3 |" in text and "| a | 1 |" not in text and "| b | 2 |" in text
    assert text.count("<!-- bench:one -->") == 1
