"""The RAUC boot backends, run on the host against temporary directories.

pc-x86_64 (systemd-boot entries with boot counting), against a directory laid out like the ESP:
which slot boots next as entries are written, blessed, counted down to zero and marked bad.
systemd-boot's own order (no tries left last, then highest `version` first) is restated here as
`boot_order`. rpi5 (the Pi bootloader's autoboot.txt and tryboot): which slot a power-on, a reboot
and a tryboot reboot reach through an update, its trial, a failed trial and a power cut; the
bootloader's choice is restated as `pi_boot`."""

from __future__ import annotations

import re
import shlex
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


def test_install_after_a_rollback_and_a_refused_bundle(esp):
    """The slot that failed its trial is the next install's target; RAUC marks it bad before each
    attempt, so an attempt that stopped (a refused, corrupt bundle) leaves it at +0 for the next."""
    backend(esp, "set-primary", "b")  # a good update into b, blessed
    backend(esp, "set-state", "b", "good")
    backend(esp, "set-primary", "a")  # a bad one into a: three failed boots
    for _ in range(3):
        count_down(esp, "a")
    assert boot_order(esp)[0] == "b"
    backend(esp, "set-state", "a", "bad")  # the corrupt bundle's attempt
    assert (esp / "loader/entries/skytrail-a+0.conf").exists()
    backend(esp, "set-state", "a", "bad")  # the next attempt
    backend(esp, "set-primary", "a")
    assert boot_order(esp) == ["a", "b"] and backend(esp, "get-primary") == "a"


def test_errors(esp):
    with pytest.raises(RuntimeError, match="unknown slot"):
        backend(esp, "set-primary", "c")
    with pytest.raises(RuntimeError, match="good or bad"):
        backend(esp, "set-state", "a", "maybe")
    with pytest.raises(RuntimeError, match="usage"):
        backend(esp)


# rpi5: the backend for the Pi bootloader's tryboot, run against a directory that stands for the
# autoboot partition, /data/rauc, /run and the kernel's view of the boot (command line, tryboot flag).
# `pi_boot` restates what the bootloader does: [tryboot]'s partition once when the reboot asked for
# it ("0 tryboot", which edge.station.firmware passes on from the backend's reboot argument file),
# else [all]'s.

PI_BOARD = REPO / "firmware/boards/rpi5"
PI_BACKEND = PI_BOARD / "overlay/usr/lib/skytrail/bootchooser-tryboot"
PI_SLOT_OF_PART = {"2": "a", "3": "b"}  # partitions.sh: PART_BOOT_A, PART_BOOT_B


@pytest.fixture
def pi(tmp_path):
    (tmp_path / "autoboot").mkdir()
    (tmp_path / "run").mkdir()
    # the factory autoboot.txt, as make-disk.sh writes it
    (tmp_path / "autoboot/autoboot.txt").write_text(
        "[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n"
    )
    pi_boot(tmp_path, tryboot=False)
    return tmp_path


def pi_backend(pi: Path, *args: str) -> str:
    env = {
        "PATH": "/usr/bin:/bin",
        "SKYTRAIL_AUTOBOOT": str(pi / "autoboot/autoboot.txt"),
        "SKYTRAIL_BOOT_STATE": str(pi / "data-rauc"),
        "SKYTRAIL_TRYBOOT_FLAG": str(pi / "tryboot"),
        "SKYTRAIL_CMDLINE": str(pi / "cmdline"),
        "SKYTRAIL_REBOOT_ARGUMENT": str(pi / "run/skytrail/reboot-argument"),
        "SKYTRAIL_PARTITIONS": str(PI_BOARD / "partitions.sh"),
    }
    r = subprocess.run([str(PI_BACKEND), *args], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return r.stdout.strip()


def pi_boot(pi: Path, tryboot: bool) -> str:
    """Power on or reboot: the slot the bootloader picks; /run starts empty."""
    sections: dict[str, str] = {}
    section = ""
    for line in (pi / "autoboot/autoboot.txt").read_text().splitlines():
        if line.startswith("["):
            section = line
        elif line.startswith("boot_partition="):
            sections[section] = line.split("=", 1)[1]
    part = sections["[tryboot]"] if tryboot else sections["[all]"]
    slot = PI_SLOT_OF_PART[part]
    (pi / "cmdline").write_text(f"root=PARTUUID=x rauc.slot={slot} rw rootwait\n")
    (pi / "tryboot").write_bytes(b"\0\0\0\1" if tryboot else b"\0\0\0\0")  # a 32-bit big-endian cell
    for f in (pi / "run").rglob("*"):
        if f.is_file():
            f.unlink()
    return slot


def pi_reboot(pi: Path) -> str:
    """`systemctl reboot` with the argument the backend asked for, as edge.station.firmware does."""
    arg = pi / "run/skytrail/reboot-argument"
    return pi_boot(pi, tryboot=arg.exists() and "tryboot" in arg.read_text())


def test_pi_update_on_trial_then_marked_good(pi):
    assert pi_backend(pi, "get-current") == "a" and pi_backend(pi, "get-primary") == "a"
    pi_backend(pi, "set-state", "b", "bad")  # RAUC before writing the slot
    assert pi_backend(pi, "get-state", "b") == "bad"
    pi_backend(pi, "set-primary", "b")
    assert pi_backend(pi, "get-primary") == "b" and pi_backend(pi, "get-state", "b") == "good"
    assert pi_reboot(pi) == "b"
    # on trial: a reboot now, the health check failing or the watchdog, goes back to a
    assert pi_backend(pi, "get-primary") == "a"
    pi_backend(pi, "set-state", "b", "good")  # rauc status mark-good after the health check
    assert pi_backend(pi, "get-primary") == "b"
    assert pi_reboot(pi) == "b" and pi_boot(pi, tryboot=False) == "b"


def test_pi_failed_trial_falls_back(pi):
    pi_backend(pi, "set-state", "b", "bad")
    pi_backend(pi, "set-primary", "b")
    assert pi_reboot(pi) == "b"
    # the health check fails: a plain reboot
    assert pi_reboot(pi) == "a"
    assert pi_backend(pi, "get-primary") == "a" and pi_backend(pi, "get-current") == "a"


def test_pi_power_cut_during_install_keeps_the_running_slot(pi):
    pi_backend(pi, "set-state", "b", "bad")
    # slot b half written: neither a power-on nor a tryboot goes there
    assert pi_backend(pi, "get-primary") == "a"
    assert pi_boot(pi, tryboot=True) == "a"
    assert pi_boot(pi, tryboot=False) == "a"


def test_pi_mark_good_outside_a_trial_changes_nothing(pi):
    before = (pi / "autoboot/autoboot.txt").read_text()
    pi_backend(pi, "set-state", "a", "good")
    pi_backend(pi, "set-state", "b", "good")  # b is not running
    assert (pi / "autoboot/autoboot.txt").read_text() == before
    # booted into b by a tryboot that is not flagged (flag 0): not a trial either
    pi_backend(pi, "set-primary", "b")
    pi_reboot(pi)
    (pi / "tryboot").write_bytes(b"\0\0\0\0")
    pi_backend(pi, "set-state", "b", "good")
    assert pi_boot(pi, tryboot=False) == "a"


def test_pi_update_during_a_trial_keeps_a_bootable_default(pi):
    pi_backend(pi, "set-primary", "b")
    assert pi_reboot(pi) == "b"
    # before b is marked good, an update goes to a, the default
    pi_backend(pi, "set-state", "a", "bad")
    assert pi_backend(pi, "get-primary") == "b"
    assert pi_boot(pi, tryboot=False) == "b"


def test_pi_errors(pi):
    with pytest.raises(RuntimeError, match="unknown slot"):
        pi_backend(pi, "set-primary", "c")
    with pytest.raises(RuntimeError, match="unknown slot"):
        pi_backend(pi, "get-state", "c")
    with pytest.raises(RuntimeError, match="good or bad"):
        pi_backend(pi, "set-state", "a", "maybe")
    with pytest.raises(RuntimeError, match="usage"):
        pi_backend(pi)
    (pi / "autoboot/autoboot.txt").write_text("[all]\nboot_partition=7\n")
    with pytest.raises(RuntimeError, match="unknown boot partition"):
        pi_backend(pi, "get-primary")


def pi_bundle_hook(mount_point: Path, slot_class: str, parent: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
        "SKYTRAIL_PARTITIONS": str(PI_BOARD / "partitions.sh"),
        "RAUC_SLOT_CLASS": slot_class,
        "RAUC_SLOT_NAME": f"{slot_class}.1",
        "RAUC_SLOT_PARENT": parent,
        "RAUC_SLOT_MOUNT_POINT": str(mount_point),
    }
    hook = PI_BOARD / "bundle-hook.sh"
    return subprocess.run([str(hook), "slot-post-install"], capture_output=True, text=True, env=env)


def test_pi_bundle_hook_points_the_boot_image_at_its_slot(tmp_path):
    """The bundle's boot.vfat is slot A's; written into boot-b, its cmdline.txt must name rootfs-b."""
    parts = dict(
        line.split("=", 1) for line in (PI_BOARD / "partitions.sh").read_text().splitlines() if "=" in line
    )
    rest = "rw rootfstype=ext4 rootwait console=serial0,115200"
    cmdline = tmp_path / "cmdline.txt"
    cmdline.write_text(f"root=PARTUUID={parts['PARTUUID_ROOT_A']} rauc.slot=a {rest}\n")
    assert pi_bundle_hook(tmp_path, "rootfs", "").returncode == 0  # the root slot: nothing to do
    assert "rauc.slot=a" in cmdline.read_text()
    r = pi_bundle_hook(tmp_path, "boot", "rootfs.1")
    assert r.returncode == 0, r.stderr
    assert cmdline.read_text() == f"root=PARTUUID={parts['PARTUUID_ROOT_B']} rauc.slot=b {rest}\n"
    r = pi_bundle_hook(tmp_path, "boot", "rootfs.7")
    assert r.returncode != 0 and "no known parent" in r.stderr


def test_pi_health_check_runs_only_on_a_tryboot(tmp_path):
    """skytrail-health.service's condition on the Pi, against the flag's two values."""
    dropin = PI_BOARD / "overlay/etc/systemd/system/skytrail-health.service.d/rpi5.conf"
    (line,) = [ln for ln in dropin.read_text().splitlines() if ln.startswith("ExecCondition=")]
    flag = tmp_path / "tryboot"
    command = line.removeprefix("ExecCondition=")
    argv = [a.replace("/proc/device-tree/chosen/bootloader/tryboot", str(flag)) for a in shlex.split(command)]
    flag.write_bytes(b"\0\0\0\1")
    assert subprocess.run(argv).returncode == 0
    flag.write_bytes(b"\0\0\0\0")
    assert subprocess.run(argv).returncode != 0
