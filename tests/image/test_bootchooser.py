"""The pc-x86_64 RAUC boot backend (systemd-boot entries with boot counting), run on the host
against a directory laid out like the ESP: which slot boots next as entries are written, blessed,
counted down to zero and marked bad. systemd-boot's own order (no tries left last, then highest
`version` first) is restated here as `boot_order`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BOARD = REPO / "firmware/boards/pc-x86_64"
BACKEND = BOARD / "overlay/usr/lib/skytrail/bootchooser-sdboot"
TEMPLATE = BOARD / "overlay/usr/lib/skytrail/boot-entry.conf.in"


@pytest.fixture
def esp(tmp_path):
    entries = tmp_path / "loader" / "entries"
    entries.mkdir(parents=True)
    # the factory image: slot a, blessed, version 1
    text = TEMPLATE.read_text().replace("@SLOT@", "a").replace("@VERSION@", "1").replace("@PARTUUID@", "x")
    (entries / "skytrail-a.conf").write_text(text)
    return tmp_path


def backend(esp: Path, *args: str) -> str:
    env = {
        "PATH": "/usr/bin:/bin",
        "SKYTRAIL_ESP": str(esp),
        "SKYTRAIL_ENTRY_TEMPLATE": str(TEMPLATE),
        "SKYTRAIL_PARTITIONS": str(BOARD / "partitions.sh"),
    }
    r = subprocess.run([str(BACKEND), *args], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return r.stdout.strip()


def boot_order(esp: Path) -> list[str]:
    """Slots in the order systemd-boot would try them."""
    rows = []
    for f in (esp / "loader" / "entries").glob("skytrail-*.conf"):
        m = re.match(r"skytrail-([ab])(?:\+(\d+)(?:-\d+)?)?\.conf$", f.name)
        version = int(re.search(r"^version\s+(\d+)", f.read_text(), re.M).group(1))
        left = m.group(2)
        rows.append((left == "0", -version, m.group(1)))
    return [slot for *_, slot in sorted(rows)]


def count_down(esp: Path, slot: str) -> None:
    """What systemd-boot does when it boots a counting entry: one try used."""
    entries = esp / "loader" / "entries"
    (f,) = entries.glob(f"skytrail-{slot}+*.conf")
    m = re.match(rf"skytrail-{slot}\+(\d+)(?:-(\d+))?\.conf", f.name)
    left, done = int(m.group(1)), int(m.group(2) or 0)
    f.rename(entries / f"skytrail-{slot}+{left - 1}-{done + 1}.conf")


def test_install_then_bless(esp):
    assert backend(esp, "get-primary") == "a"
    assert backend(esp, "get-state", "b") == "bad"  # no entry yet
    backend(esp, "set-state", "b", "bad")  # RAUC before writing the slot: nothing to do
    backend(esp, "set-primary", "b")
    assert (esp / "loader/entries/skytrail-b+3.conf").exists()
    text = (esp / "loader/entries/skytrail-b+3.conf").read_text()
    assert "rauc.slot=b" in text and "/skytrail/b/vmlinuz" in text and "version    2" in text
    assert backend(esp, "get-primary") == "b" and boot_order(esp) == ["b", "a"]
    count_down(esp, "b")
    backend(esp, "set-state", "b", "good")  # what systemd-bless-boot does too
    assert (esp / "loader/entries/skytrail-b.conf").exists()
    assert backend(esp, "get-state", "b") == "good" and boot_order(esp) == ["b", "a"]


def test_three_failed_boots_fall_back(esp):
    backend(esp, "set-primary", "b")
    for _ in range(3):
        assert boot_order(esp)[0] == "b"
        count_down(esp, "b")
    assert boot_order(esp) == ["a", "b"]
    assert backend(esp, "get-state", "b") == "bad"
    assert backend(esp, "get-primary") == "a"


def test_power_cut_during_install_keeps_the_running_slot(esp):
    backend(esp, "set-primary", "b")
    backend(esp, "set-state", "b", "good")
    # next update goes to a: RAUC marks it bad first; a power cut leaves it so
    backend(esp, "set-state", "a", "bad")
    assert (esp / "loader/entries/skytrail-a+0.conf").exists()
    assert boot_order(esp) == ["b", "a"] and backend(esp, "get-primary") == "b"
    # the install finishing instead: a is primary with fresh tries
    backend(esp, "set-primary", "a")
    assert boot_order(esp) == ["a", "b"]
    assert not (esp / "loader/entries/skytrail-a+0.conf").exists()


def test_errors(esp):
    with pytest.raises(RuntimeError, match="unknown slot"):
        backend(esp, "set-primary", "c")
    with pytest.raises(RuntimeError, match="good or bad"):
        backend(esp, "set-state", "a", "maybe")
    with pytest.raises(RuntimeError, match="usage"):
        backend(esp)
