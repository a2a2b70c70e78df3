"""`skytrail protocol schema|validate`, driven through skytrail.cli.main."""

from __future__ import annotations

import json

import pytest

import skytrail.cli
from edge.protocol import encode_message


@pytest.fixture(autouse=True)
def protocol_group_only(monkeypatch):
    """Build the CLI with the protocol group alone, so these tests do not depend on other groups."""
    monkeypatch.setattr(skytrail.cli, "GROUPS", {"protocol": skytrail.cli.GROUPS["protocol"]})


def test_schema_prints_all(capsys):
    assert skytrail.cli.main(["protocol", "schema"]) == 0
    schemas = json.loads(capsys.readouterr().out)
    assert set(schemas) == {"ObservationReport", "StationStatus", "Telemetry", "Command", "CommandResult"}


def test_schema_writes_one_file_per_model(tmp_path, capsys):
    out = tmp_path / "schemas"
    assert skytrail.cli.main(["protocol", "schema", "--out", str(out)]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["Command.json", "CommandResult.json", "ObservationReport.json", "StationStatus.json",
                     "Telemetry.json"]
    assert json.loads((out / "Telemetry.json").read_text())["title"] == "Telemetry"
    assert capsys.readouterr().out.count(".json") == 5


def test_validate_ok_and_invalid(tmp_path, capsys, report):
    good = tmp_path / "good.json"
    good.write_bytes(encode_message(report))
    assert skytrail.cli.main(["protocol", "validate", str(good), "--topic", "skytrail/v1/ams01/obs"]) == 0
    assert capsys.readouterr().out.startswith(f"OK {good}: ObservationReport")
    assert skytrail.cli.main(["protocol", "validate", str(good), "--kind", "obs"]) == 0
    capsys.readouterr()

    assert skytrail.cli.main(["protocol", "validate", str(good), "--topic", "skytrail/v1/ams02/obs"]) == 2
    assert "station_id: 'ams01' does not match" in capsys.readouterr().err

    obj = json.loads(good.read_bytes())
    obj["frames"][2]["utc"] = obj["frames"][1]["utc"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(obj))
    assert skytrail.cli.main(["protocol", "validate", str(bad), "--kind", "obs"]) == 2
    assert "frames[2].utc: must be after frames[1].utc" in capsys.readouterr().err

    assert skytrail.cli.main(["protocol", "validate", str(good), "--topic", "skytrail/v1/ams01"]) == 2
    assert "topic:" in capsys.readouterr().err


def test_validate_missing_file_and_bad_usage(tmp_path, capsys):
    assert skytrail.cli.main(["protocol", "validate", str(tmp_path / "none.json"), "--kind", "obs"]) == 2
    assert "none.json" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # argparse: --topic or --kind is required
        skytrail.cli.main(["protocol", "validate", str(tmp_path / "x.json")])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:  # a subcommand is required
        skytrail.cli.main(["protocol"])
    assert exc.value.code == 2
