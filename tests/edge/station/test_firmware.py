"""Firmware updates on the station (edge.station.firmware): download and digest checks, RAUC's
refusals passed on, the pending record, and the rollback report after the next boot. RAUC and
systemd-run are stand-in scripts on PATH that record how they were called."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.protocol.models import Command, CommandKind, new_request_id
from edge.station import firmware
from edge.uplink.client import CommandFailed

FAKE_RAUC = """#!/bin/sh
echo "$@" >> "{log}"
case "$1" in
info)
    msg="signature verification failed: unable to get local issuer certificate"
    if grep -q UNTRUSTED "$3"; then echo "$msg" >&2; exit 1; fi
    echo '{{"compatible": "skytrail-pc-x86_64", "version": "2.0.0", "images": []}}' ;;
install)
    msg="LastError: Installation error: Failed updating slot rootfs.1: I/O error"
    if grep -q BROKEN "$2"; then
        printf '%s\n' "100% Installing failed." "$msg" "Installing '$2' failed" >&2; exit 1
    fi
    echo "Installing done." ;;
status)
    printf '%s' '{{"booted": "A", "boot_primary": "rootfs.1", '
    printf '%s\n' '"slots": [{{"rootfs.0": {{"bootname": "a"}}}}, {{"rootfs.1": {{"bootname": "b"}}}}]}}' ;;
esac
"""


@pytest.fixture
def tools(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    (bin_dir / "rauc").write_text(FAKE_RAUC.format(log=log))
    (bin_dir / "systemd-run").write_text(f'#!/bin/sh\necho systemd-run "$@" >> "{log}"\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("root=PARTUUID=x rauc.slot=a console=ttyS0\n")
    monkeypatch.setattr(firmware, "CMDLINE", cmdline)
    return log


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _command(url: str, sha256: str, **extra) -> Command:
    return Command(
        station_id="ams01",
        request_id=new_request_id(),
        kind=CommandKind.FIRMWARE_UPDATE,
        args={"url": url, "sha256": sha256, **extra},
        issued_utc=datetime.now(UTC),
    )


def _bundle(root: Path, name: str, content: bytes) -> str:
    (root / name).write_bytes(content)
    return hashlib.sha256(content).hexdigest()


def test_update_installs_records_pending_and_schedules_reboot(tmp_path, tools, server):
    root, base = server
    digest = _bundle(root, "b.raucb", b"bundle bytes " * 1000)
    data = tmp_path / "data"
    result = firmware.handle_firmware_update(_command(f"{base}/b.raucb", digest, version="2.0.0"), data)
    assert result["version"] == "2.0.0" and result["from_slot"] == "a" and result["to_slot"] == "b"
    calls = tools.read_text()
    assert "install " in calls and "systemd-run --on-active=10" in calls
    pending = json.loads((data / "firmware" / "pending.json").read_text())
    assert pending["to_slot"] == "b"
    assert not (data / "firmware" / "update.raucb").exists()  # space on the data partition is freed


def test_digest_mismatch_is_refused_before_rauc(tmp_path, tools, server):
    root, base = server
    _bundle(root, "b.raucb", b"bundle bytes")
    with pytest.raises(CommandFailed, match="sha256 .* is not the expected"):
        firmware.handle_firmware_update(_command(f"{base}/b.raucb", "0" * 64), tmp_path / "data")
    assert not tools.exists() or "install" not in tools.read_text()
    assert not list((tmp_path / "data" / "firmware").glob("*raucb*"))


@pytest.mark.parametrize(
    ("content", "version", "reason"),
    [
        (b"UNTRUSTED bundle", None, "bundle refused: signature verification failed"),
        # RAUC's cause (its LastError line), not only its last line
        (b"BROKEN bundle", None, "rauc install failed: LastError: Installation error: Failed updating slot"),
        (b"good bundle", "3.0.0", "bundle version '2.0.0' is not the expected '3.0.0'"),
    ],
)
def test_rauc_refusals_are_passed_on(tmp_path, tools, server, content, version, reason):
    root, base = server
    digest = _bundle(root, "b.raucb", content)
    extra = {"version": version} if version else {}
    with pytest.raises(CommandFailed) as err:
        firmware.handle_firmware_update(_command(f"{base}/b.raucb", digest, **extra), tmp_path / "data")
    assert reason in str(err.value)
    assert not (tmp_path / "data" / "firmware" / "pending.json").exists()
    assert "systemd-run" not in tools.read_text()


def test_bad_arguments_and_unreachable_url(tmp_path, tools):
    with pytest.raises(CommandFailed, match="64 hex digits"):
        firmware.handle_firmware_update(_command("http://127.0.0.1:1/x", "abc"), tmp_path)
    with pytest.raises(CommandFailed, match="http"):
        firmware.handle_firmware_update(_command("file:///etc/passwd", "0" * 64), tmp_path)
    with pytest.raises(CommandFailed, match="download"):
        firmware.handle_firmware_update(_command("http://127.0.0.1:1/x", "0" * 64), tmp_path)


def _pending(data: Path, to_slot: str) -> None:
    (data / "firmware").mkdir(parents=True, exist_ok=True)
    (data / "firmware" / "pending.json").write_text(
        json.dumps({"version": "2.0.0", "from_slot": "a", "to_slot": to_slot, "installed_utc": "x"})
    )


def test_boot_report_rollback(tmp_path):
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("root=x rauc.slot=a\n")
    _pending(tmp_path, "b")
    msg = firmware.boot_report(tmp_path, cmdline)
    assert msg is not None and "rollback" in msg and "2.0.0" in msg and "slot b" in msg and "slot a" in msg
    last = json.loads((tmp_path / "firmware" / "last-boot.json").read_text())
    assert last["rolled_back"] is True and last["booted_slot"] == "a"
    assert firmware.boot_report(tmp_path, cmdline) is None  # reported once


def test_boot_report_update_took(tmp_path):
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("root=x rauc.slot=b quiet\n")
    _pending(tmp_path, "b")
    assert firmware.boot_report(tmp_path, cmdline) is None
    assert json.loads((tmp_path / "firmware" / "last-boot.json").read_text())["rolled_back"] is False
    assert firmware.boot_report(tmp_path, cmdline) is None  # nothing pending


def test_booted_slot(tmp_path):
    p = tmp_path / "cmdline"
    p.write_text("BOOT_IMAGE=x rauc.slot=b\n")
    assert firmware.booted_slot(p) == "b"
    p.write_text("root=/dev/sda2\n")
    assert firmware.booted_slot(p) is None


def test_reboot_argument_from_the_boot_backend(tmp_path, tools, server, monkeypatch):
    root, base = server
    digest = _bundle(root, "b.raucb", b"bundle for the pi")
    arg_file = tmp_path / "reboot-argument"
    arg_file.write_text("0 tryboot\n")  # what the rpi5 tryboot backend's set-primary leaves
    monkeypatch.setattr(firmware, "REBOOT_ARGUMENT_FILE", arg_file)
    firmware.handle_firmware_update(_command(f"{base}/b.raucb", digest), tmp_path / "data")
    assert "systemctl reboot 0 tryboot" in tools.read_text()


def test_last_update_report_outlives_the_boot_report(tmp_path):
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("root=x rauc.slot=a\n")
    assert firmware.last_update_report(tmp_path).startswith("no rollback")  # nothing installed yet
    _pending(tmp_path, "b")
    assert firmware.boot_report(tmp_path, cmdline) is not None  # the supervisor consumes it
    report = firmware.last_update_report(tmp_path)
    assert "rollback" in report and not report.startswith("no rollback") and "2.0.0" in report
    cmdline.write_text("root=x rauc.slot=b\n")
    _pending(tmp_path, "b")
    firmware.boot_report(tmp_path, cmdline)
    report = firmware.last_update_report(tmp_path)
    assert report.startswith("no rollback") and "2.0.0" in report and "slot b" in report
