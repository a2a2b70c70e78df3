"""Over-the-air updates on the station: the bridge's `firmware_update` command -> a RAUC bundle
installed into the inactive slot -> reboot -> the new slot is kept only if it proves healthy.

Inputs: the command's args (`url` and `sha256` of the signed bundle, optionally the expected
`version`), RAUC on the station (`rauc info`, `rauc install`, `rauc status`), and the kernel
command line (`rauc.slot=a|b`, which slot booted). The bundle is downloaded to
`<data_dir>/firmware/` (the data partition), its SHA-256 and version checked, then RAUC checks its
signature against the keyring in the image and writes the other slot. Before rebooting, the
install is recorded in `<data_dir>/firmware/pending.json`; after the next boot `boot_report`
compares the slot that booted with the one installed: same slot, the update took; the old slot,
the new one failed its health check three times and systemd-boot (or the Pi's tryboot) went back.
The slot is marked good by `skytrail-health.service` + `systemd-bless-boot`, not here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.uplink.client import CommandFailed

log = logging.getLogger("skytrail.firmware")

PENDING_FILE = Path("firmware") / "pending.json"
LAST_REPORT_FILE = Path("firmware") / "last-boot.json"
BUNDLE_NAME = "update.raucb"
CMDLINE = Path("/proc/cmdline")
REBOOT_ARGUMENT_FILE = Path("/run/skytrail/reboot-argument")  # written by the rpi5 boot backend
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def booted_slot(cmdline: Path | None = None) -> str | None:
    """The slot the running system booted from (`rauc.slot=` on the kernel command line)."""
    try:
        text = (cmdline or CMDLINE).read_text()
    except OSError:
        return None
    m = re.search(r"(?:^|\s)rauc\.slot=(\S+)", text)
    return m.group(1) if m else None


def _run(argv: list[str], timeout_s: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError:
        raise CommandFailed(f"{argv[0]} is not installed on this station") from None
    except subprocess.TimeoutExpired:
        raise CommandFailed(f"{' '.join(argv[:2])} did not finish within {timeout_s:.0f} s") from None


def download(url: str, dest: Path, sha256: str, timeout_s: float = 60.0) -> int:
    """Stream `url` to `dest` checking its SHA-256; returns the size in bytes. CommandFailed on a
    network error or a digest mismatch (the file is removed)."""
    import httpx

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    size = 0
    try:
        with httpx.stream("GET", url, timeout=timeout_s, follow_redirects=True) as resp:
            if resp.status_code != 200:
                raise CommandFailed(f"download {url}: HTTP {resp.status_code}")
            with open(tmp, "wb") as f:
                for chunk in resp.iter_bytes(1 << 20):
                    digest.update(chunk)
                    f.write(chunk)
                    size += len(chunk)
                f.flush()
                os.fsync(f.fileno())
    except httpx.HTTPError as exc:
        tmp.unlink(missing_ok=True)
        raise CommandFailed(f"download {url}: {exc}") from None
    if digest.hexdigest() != sha256:
        tmp.unlink(missing_ok=True)
        raise CommandFailed(f"download {url}: sha256 {digest.hexdigest()} is not the expected {sha256}")
    os.replace(tmp, dest)
    return size


def bundle_info(bundle: Path) -> dict[str, Any]:
    """`rauc info` of a bundle (checks the signature): compatible, version, images."""
    proc = _run(["rauc", "info", "--output-format=json", str(bundle)], timeout_s=300)
    if proc.returncode != 0:
        raise CommandFailed(f"bundle refused: {_last_line(proc.stderr) or 'rauc info failed'}")
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise CommandFailed("rauc info gave no JSON") from None


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _rauc_error(proc: subprocess.CompletedProcess) -> str:
    """RAUC's reason for a failed command: its `LastError:` line (the cause; the last line only says
    that installing failed) with that last line, or else the last line of its output."""
    text = f"{proc.stdout}\n{proc.stderr}"
    causes = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("LastError:")]
    last = _last_line(proc.stderr) or _last_line(proc.stdout)
    return f"{causes[-1]} ({last})" if causes else last


def install_bundle(
    bundle: Path, data_dir: Path, version: str | None = None, reboot_delay_s: float | None = 10.0
) -> dict:
    """Check and install a downloaded bundle, record it as pending, schedule the reboot.

    Returns what the command result carries; CommandFailed with RAUC's reason when refused."""
    info = bundle_info(bundle)
    bundle_version = info.get("version")
    if version is not None and bundle_version != version:
        raise CommandFailed(f"bundle version {bundle_version!r} is not the expected {version!r}")
    from_slot = booted_slot()
    proc = _run(["rauc", "install", str(bundle)], timeout_s=3600)
    if proc.returncode != 0:
        raise CommandFailed(f"rauc install failed: {_rauc_error(proc)}")
    to_slot = _primary_slot()
    pending = {
        "version": bundle_version,
        "from_slot": from_slot,
        "to_slot": to_slot,
        "installed_utc": datetime.now(UTC).isoformat(),
    }
    path = data_dir / PENDING_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(pending, indent=1) + "\n")
    bundle.unlink(missing_ok=True)  # the slot holds it now; the data partition needs the space
    log.info("firmware installed version=%s from_slot=%s to_slot=%s", bundle_version, from_slot, to_slot)
    if reboot_delay_s is not None:
        _schedule_reboot(reboot_delay_s)
    return {**pending, "reboot_in_s": reboot_delay_s}


def _primary_slot() -> str | None:
    """The slot RAUC will boot next (its bootname), from `rauc status`."""
    proc = _run(["rauc", "status", "--output-format=json"], timeout_s=60)
    if proc.returncode != 0:
        return None
    try:
        status = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None
    primary = status.get("boot_primary")
    for slot in status.get("slots", []):
        for name, fields in slot.items():
            if name == primary:
                return fields.get("bootname")
    return None


def _schedule_reboot(delay_s: float) -> None:
    """Reboot in `delay_s` seconds through systemd, so that the command result goes out first. The
    boot backend may ask for a reboot argument (the Pi's "0 tryboot": boot the new slot once)."""
    argv = ["systemctl", "reboot"]
    try:
        argument = REBOOT_ARGUMENT_FILE.read_text().strip()
    except OSError:
        argument = ""
    if argument:
        argv.append(argument)
    when = f"--on-active={max(1, int(delay_s))}"
    _run(["systemd-run", when, "--unit=skytrail-firmware-reboot", *argv], timeout_s=30)


def handle_firmware_update(command, data_dir: Path) -> dict:
    """The uplink's FIRMWARE_UPDATE handler: download args["url"], check args["sha256"] (and
    args["version"] when given), `rauc install`, schedule the reboot. CommandFailed with the reason."""
    args = command.args
    url, sha256 = args.get("url"), str(args.get("sha256", "")).lower()
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise CommandFailed(f"firmware_update: url must be an http(s) URL, got {url!r}")
    if not SHA256_RE.match(sha256):
        raise CommandFailed("firmware_update: sha256 must be 64 hex digits")
    version = args.get("version")
    bundle = Path(data_dir) / "firmware" / BUNDLE_NAME
    bundle.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(bundle.parent).free
    log.info("firmware download url=%s free_bytes=%d", url, free)
    download(url, bundle, sha256)
    try:
        return install_bundle(bundle, Path(data_dir), version)
    finally:
        bundle.unlink(missing_ok=True)


def boot_report(data_dir: Path, cmdline: Path | None = None) -> str | None:
    """After a boot: a message when the last update was rolled back (the slot it was installed into
    did not stay booted), else None. Reads and clears `<data_dir>/firmware/pending.json`; the
    outcome stays in `last-boot.json`."""
    path = Path(data_dir) / PENDING_FILE
    try:
        pending = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("firmware pending record unreadable path=%s error=%s", path, exc)
        path.unlink(missing_ok=True)
        return None
    booted = booted_slot(cmdline)
    to_slot = pending.get("to_slot")
    rolled_back = booted is not None and to_slot is not None and booted != to_slot
    outcome = {
        **pending,
        "booted_slot": booted,
        "rolled_back": rolled_back,
        "utc": datetime.now(UTC).isoformat(),
    }
    (Path(data_dir) / LAST_REPORT_FILE).write_text(json.dumps(outcome, indent=1) + "\n")
    path.unlink()
    if rolled_back:
        message = _rollback_message(outcome)
        log.warning(
            "firmware rollback version=%s failed_slot=%s booted_slot=%s",
            pending.get("version"),
            to_slot,
            booted,
        )
        return message
    log.info("firmware update took version=%s slot=%s", pending.get("version"), booted)
    return None


def _rollback_message(outcome: dict[str, Any]) -> str:
    return (
        f"firmware rollback: version {outcome.get('version')} in slot {outcome.get('to_slot')} failed its "
        f"health check; running slot {outcome.get('booted_slot')} again"
    )


def last_update_report(data_dir: Path) -> str:
    """The outcome of the last update as one line, from `last-boot.json` (written by `boot_report`,
    which the station supervisor calls when it starts): the rollback message, or "no rollback"."""
    path = Path(data_dir) / LAST_REPORT_FILE
    try:
        outcome = json.loads(path.read_text())
    except FileNotFoundError:
        return "no rollback (no update recorded)"
    except (OSError, ValueError) as exc:
        return f"no rollback (last update record unreadable: {exc})"
    if outcome.get("rolled_back"):
        return _rollback_message(outcome)
    return f"no rollback: version {outcome.get('version')} runs in slot {outcome.get('booted_slot')}"


def _cli(argv: list[str] | None = None) -> int:
    """`python -m edge.station.firmware install|report`: the same steps by hand (and in the image test)."""
    from edge.protocol.models import Command, CommandKind

    p = argparse.ArgumentParser(prog="python -m edge.station.firmware", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    inst = sub.add_parser("install", help="download, check and install a bundle, then reboot")
    inst.add_argument("--url", required=True)
    inst.add_argument("--sha256", required=True)
    inst.add_argument("--version", default=None)
    inst.add_argument("--data-dir", type=Path, default=Path("/data/skytrail"))
    rep = sub.add_parser("report", help="print the last update's outcome (rollback or not)")
    rep.add_argument("--data-dir", type=Path, default=Path("/data/skytrail"))
    args = p.parse_args(argv)
    if args.what == "report":
        boot_report(args.data_dir)  # a boot the supervisor has not reported yet
        print(last_update_report(args.data_dir))
        return 0
    cmd_args = {"url": args.url, "sha256": args.sha256}
    if args.version:
        cmd_args["version"] = args.version
    from edge.protocol.models import new_request_id

    command = Command(
        station_id="local",
        request_id=new_request_id(),
        kind=CommandKind.FIRMWARE_UPDATE,
        args=cmd_args,
        issued_utc=datetime.now(UTC),
    )
    try:
        result = handle_firmware_update(command, args.data_dir)
    except CommandFailed as exc:
        print(f"firmware update refused: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sys.exit(_cli())
