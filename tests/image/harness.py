"""The image test: boot the pc-x86_64 disk image in QEMU (TCG, OVMF) and take it through first boot,
an update, a failed update with rollback, refused bundles and a power cut during an install.

Run by `./build.sh image-test` (as root, after `./build.sh image`); prints one JSON summary with each
step's outcome and time, also written to build/image/pc-x86_64/image-test.json; exits 1 when a step
failed. Inputs: build/image/pc-x86_64/ (disk image, rootfs.ext4, version) from firmware/build-image.sh,
bundles made here with firmware/bundle.sh from copies of rootfs.ext4 changed with debugfs (a good
one, one whose station service cannot start) and, for the refusals, from a small file system (one
signed by an untrusted CA, one with a flipped byte: RAUC must refuse them before they could boot, so
their content does not matter, and a small one spares two 470 MB downloads).

The guest's serial console goes to console.log (boot progress, the health check's verdicts); commands
run over SSH with a key that the provisioning file installs (the image has no passwords). Bundles
reach the guest over QEMU user networking: a local HTTP server that the guest sees at 10.0.2.2.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

from edge.camera.recording import Recording, read_recording, write_recording
from edge.station.simulated import render_night_recording

REPO = Path(__file__).resolve().parents[2]
BOARD = "pc-x86_64"
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
HOST_CONF = f"--conf={REPO / 'firmware/rauc-host.conf'}"
FIRMWARE_CLI = "/opt/skytrail/bin/python -m edge.station.firmware"
RAUC_PROGRESS = "busctl get-property de.pengutronix.rauc / de.pengutronix.rauc.Installer Progress"
SSH_OPTS = [
    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=30", "-o", "BatchMode=yes",
]  # fmt: skip


def log(msg: str) -> None:
    print(f"[image-test] {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class StepFailed(Exception):
    pass


class Guest:
    """One QEMU machine on the test disk; survives the guest's own reboots."""

    def __init__(self, work: Path, disk: Path, key: Path, ssh_port: int, memory_mib: int = 2048) -> None:
        self.work, self.disk, self.key, self.ssh_port, self.memory_mib = work, disk, key, ssh_port, memory_mib
        self.vars = work / "OVMF_VARS.fd"
        if not self.vars.exists():
            shutil.copy(OVMF_VARS, self.vars)
        self.proc: subprocess.Popen | None = None
        self.console = work / "console.log"
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        self.console = self.work / f"console-{self.runs}.log"
        argv = [
            "qemu-system-x86_64", "-machine", "q35", "-cpu", "max", "-m", str(self.memory_mib), "-smp", "2",
            "-display", "none", "-monitor", "none", "-serial", f"file:{self.console}",
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,unit=1,file={self.vars}",
            "-drive", f"file={self.disk},format=raw,if=virtio",
            "-nic", f"user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22",
            "-device", "virtio-rng-pci",
        ]  # fmt: skip
        log(f"qemu start run={self.runs} console={self.console.name}")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def kill(self) -> None:
        """Pull the power: SIGKILL, nothing is flushed by the guest."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ssh(self, command: str, timeout_s: float = 60) -> subprocess.CompletedProcess:
        argv = ["ssh", *SSH_OPTS, "-i", str(self.key), "-p", str(self.ssh_port), "root@127.0.0.1", command]
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, 255, "", "ssh timed out")

    def wait_for(self, what: str, check, timeout_s: float, interval_s: float = 5.0):
        """Poll `check()` until it returns something truthy; StepFailed after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            if not self.alive():
                err = self.proc.stderr.read().decode() if self.proc and self.proc.stderr else ""
                raise StepFailed(f"QEMU exited while waiting for {what}: {err.strip()[-300:]}")
            last = check()
            if last:
                return last
            time.sleep(interval_s)
        raise StepFailed(f"no {what} within {timeout_s:.0f} s")

    def state(self) -> dict | None:
        """Boot id and slot of the running guest, or None while it does not answer."""
        r = self.ssh("cat /proc/sys/kernel/random/boot_id /proc/cmdline", timeout_s=90)
        if r.returncode != 0:
            return None
        lines = r.stdout.split("\n")
        m = re.search(r"rauc\.slot=(\S+)", r.stdout)
        return {"boot_id": lines[0].strip(), "slot": m.group(1) if m else None}

    def rebooted(self, before: dict, slot: str | None = None) -> dict | None:
        """The new state once the guest runs a boot other than `before` (on `slot` if given)."""
        s = self.state()
        if s and s["boot_id"] != before["boot_id"] and (slot is None or s["slot"] == slot):
            return s
        return None

    def healthy(self) -> bool:
        # the check behind `skytrail station health`, without that command line's start-up (it
        # imports every command group: about a minute under TCG on a loaded host)
        r = self.ssh("/usr/lib/skytrail/health-check --once", timeout_s=180)
        return r.returncode == 0

    def entries(self) -> list[str]:
        r = self.ssh("ls /boot/efi/loader/entries", timeout_s=30)
        return r.stdout.split() if r.returncode == 0 else []

    def console_text(self) -> str:
        try:
            return self.console.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class BundleServer:
    """Serves a directory over HTTP on 127.0.0.1 (the guest's 10.0.2.2)."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
        handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://10.0.2.2:{self.port}/{name}"


def debugfs_write(image: Path, files: dict[str, str], mkdirs: tuple[str, ...] = ()) -> None:
    """Put files into an ext4 image without mounting it."""
    with tempfile.TemporaryDirectory() as tmp:
        cmds = [f"mkdir {d}" for d in mkdirs]
        for i, (dest, content) in enumerate(files.items()):
            src = Path(tmp) / f"f{i}"
            src.write_text(content)
            cmds += [f"rm {dest}", f"write {src} {dest}"]
        script = Path(tmp) / "cmds"
        script.write_text("\n".join(cmds) + "\n")
        subprocess.run(["debugfs", "-w", "-f", str(script), str(image)], check=True, capture_output=True)


def put_on_data_partition(disk: Path, src: Path, dest: str) -> None:
    """Copy a file into the disk's data partition (ext4) through a loop device and debugfs."""
    table = json.loads(subprocess.run(["sfdisk", "-J", str(disk)], check=True, capture_output=True).stdout)
    (part,) = [p for p in table["partitiontable"]["partitions"] if p.get("name") == "data"]
    sector = table["partitiontable"].get("sectorsize", 512)
    loop = subprocess.run(
        ["losetup", "-f", "--show", "-o", str(part["start"] * sector),
         "--sizelimit", str(part["size"] * sector), str(disk)],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    try:
        parent = os.path.dirname(dest)
        cmds = f"mkdir {parent}\nwrite {src} {dest}\n"
        debugfs = ["debugfs", "-w", "-f", "-", loop]
        subprocess.run(debugfs, input=cmds.encode(), check=True, capture_output=True)
    finally:
        subprocess.run(["losetup", "-d", loop], check=True)


def decimate_recording(path: Path, fps: float) -> None:
    """Keep every k-th frame so that the recording plays at `fps` (a guest without acceleration
    cannot detect on 480x270 frames at the camera's 25 fps and still answer SSH)."""
    rec = read_recording(path)
    step = max(1, round(float(rec.meta["fps"]) / fps))
    meta = dict(rec.meta, fps=float(rec.meta["fps"]) / step)
    write_recording(path, Recording(rec.frames[::step].copy(), rec.utc_unix_s[::step].copy(), meta))


def make_bundles(out_dir: Path, work: Path, version: str) -> dict[str, Path]:
    """good, bad (station cannot start), other-key and corrupt bundles; cached per image version."""
    bdir = out_dir / "test-bundles"
    stamp = bdir / "version"
    names = {k: bdir / f"{k}.raucb" for k in ("good", "bad", "other-key", "corrupt")}
    if stamp.exists() and stamp.read_text() == version and all(p.exists() for p in names.values()):
        log("bundles: cached")
        return names
    shutil.rmtree(bdir, ignore_errors=True)
    bdir.mkdir(parents=True)
    release = (out_dir / "work" / "rootfs" / "etc" / "skytrail-release").read_text()
    for kind in ("good", "bad"):
        img = work / f"rootfs-{kind}.ext4"
        subprocess.run(["cp", "--sparse=always", str(out_dir / "rootfs.ext4"), str(img)], check=True)
        v = f"{version}-{kind}"
        files = {"/etc/skytrail-release": re.sub(r"SKYTRAIL_VERSION=.*", f"SKYTRAIL_VERSION={v}", release)}
        mkdirs: tuple[str, ...] = ()
        if kind == "bad":  # a release whose station service cannot start: its health check must fail
            mkdirs = ("/etc/systemd/system/skytrail-station.service.d",)
            files["/etc/systemd/system/skytrail-station.service.d/broken.conf"] = (
                "[Service]\nExecStart=\nExecStart=/bin/false\nRestartSec=2\n"
            )
        debugfs_write(img, files, mkdirs)
        subprocess.run(
            [str(REPO / "firmware/bundle.sh"), "--board", BOARD, "--rootfs", str(img), "--version", v,
             "--out", str(names[kind])],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        img.unlink()
    # the refusals' bundle: a small file system with only the release file, signed by the dev CA
    small_dir = work / "small-rootfs"
    (small_dir / "etc").mkdir(parents=True, exist_ok=True)
    (small_dir / "etc" / "skytrail-release").write_text(
        re.sub(r"SKYTRAIL_VERSION=.*", f"SKYTRAIL_VERSION={version}-small", release)
    )
    # incompressible filler: RAUC refuses a squashfs of a single 4 KiB block
    (small_dir / "etc" / "filler").write_bytes(os.urandom(256 * 1024))
    small_img, small = work / "rootfs-small.ext4", bdir / "small.raucb"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(small_dir), str(small_img), "8M"], check=True)
    subprocess.run(
        [str(REPO / "firmware/bundle.sh"), "--board", BOARD, "--rootfs", str(small_img), "--version",
         f"{version}-small", "--out", str(small)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    other = Path(
        subprocess.run(
            [str(REPO / "firmware/keys.sh"), "other", str(work / "other-ca")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    dev = Path(
        subprocess.run(
            [str(REPO / "firmware/keys.sh"), "dev"], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    r = subprocess.run(
        ["rauc", HOST_CONF, "resign", f"--cert={other}/signing.pem", f"--key={other}/signing.key",
         f"--keyring={dev}/ca.pem", "--signing-keyring", f"{other}/ca.pem",
         str(small), str(names["other-key"])],
        capture_output=True, text=True,
    )  # fmt: skip
    if r.returncode != 0:  # older RAUC: no --signing-keyring
        subprocess.run(
            ["rauc", HOST_CONF, "resign", f"--cert={other}/signing.pem", f"--key={other}/signing.key",
             f"--keyring={dev}/ca.pem", "--no-verify", str(small), str(names["other-key"])],
            check=True, capture_output=True,
        )  # fmt: skip
    # one byte flipped in the middle of the payload's squashfs image (the bundle starts with it; its
    # superblock says how long it is, little-endian at byte 40), not in the signature
    shutil.copy(small, names["corrupt"])
    with open(names["corrupt"], "r+b") as f:
        squashfs_bytes = int.from_bytes(f.read(48)[40:48], "little")
        f.seek(squashfs_bytes // 2)
        b = f.read(1)
        f.seek(squashfs_bytes // 2)
        f.write(bytes([b[0] ^ 0xFF]))
    stamp.write_text(version)
    return names


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out-dir", type=Path, default=REPO / "build/image" / BOARD)
    p.add_argument("--keep", action="store_true", help="keep the work directory (disk, console logs)")
    p.add_argument("--only", default="", help="comma-separated step names to run (later steps need earlier)")
    args = p.parse_args()
    out_dir: Path = args.out_dir
    disk_src = out_dir / f"skytrail-{BOARD}.img"
    if not disk_src.exists():
        print(f"no disk image at {disk_src}: run ./build.sh image first", file=sys.stderr)
        return 2
    version = (out_dir / "version").read_text().strip()
    work = out_dir / "test-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    steps: list[dict] = []
    summary = {"board": BOARD, "image_version": version, "steps": steps}
    t_all = time.monotonic()
    guest: Guest | None = None

    def step(name: str, fn) -> bool:
        if any(not s["ok"] and s["name"] in ("prepare", "first-boot") for s in steps):
            steps.append(
                {"name": name, "ok": False, "seconds": 0.0, "detail": "skipped: an earlier step failed"}
            )
            return False
        t0 = time.monotonic()
        log(f"step {name}")
        try:
            detail = fn()
            ok = True
        except (StepFailed, subprocess.CalledProcessError, OSError) as exc:
            detail, ok = f"{type(exc).__name__}: {exc}", False
        except KeyboardInterrupt:  # SIGINT or SIGTERM: record how far the step got, then stop
            seconds = round(time.monotonic() - t0, 1)
            steps.append({"name": name, "ok": False, "seconds": seconds, "detail": "interrupted"})
            log(f"step {name} interrupted seconds={seconds}")
            raise
        seconds = round(time.monotonic() - t0, 1)
        steps.append({"name": name, "ok": ok, "seconds": seconds, "detail": detail})
        log(f"step {name} ok={ok} seconds={seconds} detail={detail}")
        return ok

    ctx: dict = {}
    only = {s for s in args.only.split(",") if s}

    def prepare() -> dict:
        disk = work / "disk.img"
        subprocess.run(["cp", "--sparse=always", str(disk_src), str(disk)], check=True)
        key = work / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        toml = work / "skytrail.toml"
        pubkey = (work / "id_ed25519.pub").read_text().strip()
        toml.write_text(PROVISIONING.format(pubkey=pubkey, enrol_token=SECRETS[0], psk=SECRETS[1]))
        # the ESP starts 1 MiB into the disk (firmware/boards/pc-x86_64/make-disk.sh)
        subprocess.run(["mcopy", "-o", "-i", f"{disk}@@1M", str(toml), "::/skytrail.toml"], check=True)
        # frames rendered here and replayed in the guest: rendering a simulated sky is beyond a
        # machine without acceleration, replaying it is not
        recording = work / "sim0.npz"
        render_night_recording(SIM_NIGHT, recording, "imgtest", "sim0")
        decimate_recording(recording, SIM_FPS)
        put_on_data_partition(disk, recording, "/skytrail/recordings/sim0.npz")
        ctx["disk"], ctx["key"] = disk, key
        if only == {"first-boot"}:
            return {"bundles": "not needed"}
        t0 = time.monotonic()
        ctx["bundles"] = make_bundles(out_dir, work, version)
        ctx["server"] = BundleServer(ctx["bundles"]["good"].parent)
        return {"bundles_s": round(time.monotonic() - t0, 1),
                "bundle_bytes": ctx["bundles"]["good"].stat().st_size}  # fmt: skip

    def first_boot() -> dict:
        nonlocal guest
        guest = Guest(work, ctx["disk"], ctx["key"], free_port())
        t0 = time.monotonic()
        guest.start()
        st = guest.wait_for("SSH answer (provisioned key)", guest.state, timeout_s=900)
        t_ssh = time.monotonic() - t0
        if st["slot"] != "a":
            raise StepFailed(f"booted slot {st['slot']}, expected a")
        guest.wait_for("healthy station", guest.healthy, timeout_s=900)
        t_healthy = time.monotonic() - t0
        r = guest.ssh("ls /boot/efi; cat /data/skytrail/state/provision.json; hostname; "
                      "systemctl is-enabled ssh.service || true")  # fmt: skip
        if "skytrail.toml" in r.stdout.split() or "skytrail.provisioned.toml" not in r.stdout:
            raise StepFailed(f"provisioning did not move the boot file: {r.stdout}")
        prov_text = guest.ssh("cat /boot/efi/skytrail.provisioned.toml").stdout
        try:
            prov = tomllib.loads(prov_text)
        except tomllib.TOMLDecodeError as exc:
            raise StepFailed(f"the provisioned file on the boot partition is not TOML: {exc}") from None
        wifi = prov.get("network", {}).get("wifi", {})
        if any(v in prov_text for v in SECRETS) or "enrol_token" in prov.get("uplink", {}) or "psk" in wifi:
            raise StepFailed(f"secrets left on the boot partition: {prov_text}")
        if "skytrail-imgtest" not in r.stdout:
            raise StepFailed(f"host name not set: {r.stdout}")
        ctx["boot_to_healthy_s"] = round(t_healthy, 1)
        return {"boot_to_ssh_s": round(t_ssh, 1), "boot_to_healthy_s": round(t_healthy, 1), "slot": "a"}

    def start_install(kind: str, expect_refused: bool = False) -> tuple[str, str]:
        """Start the install of the `kind` bundle in the guest, detached from the SSH session (a
        starved guest can drop the session during a download of several minutes, which would kill
        the install). Returns the command and the path stem on the data partition where its output
        (.log) and, once it ends, its exit status (.rc) land."""
        bundle = ctx["bundles"][kind]
        cmd = f"{FIRMWARE_CLI} install --url {ctx['server'].url(bundle.name)} --sha256 {sha256_of(bundle)}"
        if not expect_refused:
            cmd += f" --version {version}-{kind}"
        base = f"/data/skytrail/imgtest-install-{kind}-{int(time.time())}"
        r = guest.ssh(f"nohup sh -c '{cmd} >{base}.log 2>&1; echo $? >{base}.rc; sync' >/dev/null 2>&1 &")
        if r.returncode != 0:
            raise StepFailed(f"could not start the install of the {kind} bundle: {r.stderr.strip()}")
        return cmd, base

    def install_status(base: str) -> str | None:
        """The exit status of the install started at `base`, None while it runs."""
        rc = guest.ssh(f"cat {base}.rc", timeout_s=90)
        return rc.stdout.strip() if rc.returncode == 0 and rc.stdout.strip() else None

    def install(kind: str, expect_refused: bool = False) -> subprocess.CompletedProcess:
        """Install the `kind` bundle in the guest and wait for the install to end."""
        cmd, base = start_install(kind, expect_refused)
        rc = guest.wait_for(
            f"the install of the {kind} bundle to end", lambda: install_status(base), 1800, 10
        )
        out = guest.ssh(f"cat {base}.log", timeout_s=90).stdout
        return subprocess.CompletedProcess(cmd, int(rc), out, out)

    def update_good() -> dict:
        before = guest.state()
        t0 = time.monotonic()
        r = install("good")
        if r.returncode != 0:
            raise StepFailed(f"install failed: {r.stderr.strip()[-400:]}")
        t_install = time.monotonic() - t0
        st = guest.wait_for("reboot into the new slot", lambda: guest.rebooted(before), 900)
        if st["slot"] != "b":
            raise StepFailed(f"after the update the guest booted slot {st['slot']}, expected b")
        guest.wait_for("slot b blessed (skytrail-b.conf)", lambda: "skytrail-b.conf" in guest.entries(), 900)
        t_blessed = time.monotonic() - t0
        rel = guest.ssh(f"cat /etc/skytrail-release; {FIRMWARE_CLI} report")
        if f"{version}-good" not in rel.stdout or "no rollback" not in rel.stdout:
            raise StepFailed(f"unexpected release/report on b: {rel.stdout}")
        return {"install_s": round(t_install, 1), "install_to_blessed_s": round(t_blessed, 1),
                "entries": guest.entries()}  # fmt: skip

    def update_bad() -> dict:
        before = guest.state()
        t0 = time.monotonic()
        r = install("bad")
        if r.returncode != 0:
            raise StepFailed(f"install failed: {r.stderr.strip()[-400:]}")
        # slot a boots up to 3 times, fails its health check each time, then b comes back
        st = guest.wait_for("rollback to slot b", lambda: guest.rebooted(before, "b"), 2400, interval_s=10)
        t_back = time.monotonic() - t0
        rep = guest.ssh(f"{FIRMWARE_CLI} report").stdout.strip()
        # the station supervisor reports the boot (and records it in last-boot.json) when it starts
        last = guest.ssh("cat /data/skytrail/firmware/last-boot.json").stdout
        entries = guest.entries()
        tries_a = guest.console_text().count("skytrail-health unhealthy slot=a")
        try:
            rolled_back = json.loads(last).get("rolled_back") is True
        except ValueError:
            rolled_back = False
        if not rolled_back:
            raise StepFailed(f"no rollback recorded: last-boot.json={last!r} report={rep!r}")
        if not any(e.startswith("skytrail-a+0") for e in entries):
            raise StepFailed(f"slot a not marked bad: {entries}")
        guest.wait_for("healthy station on b", guest.healthy, 600)
        return {"install_to_rollback_s": round(t_back, 1), "failed_boots_of_a": tries_a, "report": rep,
                "entries": entries, "slot": st["slot"]}  # fmt: skip

    def refused(kind: str):
        def run() -> dict:
            before = guest.state()
            r = install(kind, expect_refused=True)
            after = guest.state()
            if r.returncode == 0:
                raise StepFailed(f"the {kind} bundle was installed: {r.stdout}")
            if "D-Bus error" in r.stderr or "is not installed" in r.stderr:
                # RAUC could not try the bundle at all: that is not a refusal of this bundle
                raise StepFailed(f"RAUC did not check the {kind} bundle: {r.stderr.strip()[-300:]}")
            if after is None or after["boot_id"] != before["boot_id"] or after["slot"] != before["slot"]:
                raise StepFailed(f"the guest did not stay up on its slot: {before} -> {after}")
            return {
                "reason": r.stderr.strip().splitlines()[-1][-300:] if r.stderr.strip() else "",
                "slot": after["slot"],
            }

        return run

    def power_cut() -> dict:
        before = guest.state()
        _, base = start_install("good")

        # cut the power while RAUC writes the slot (its installer's progress, read over D-Bus, says
        # "Copying image to rootfs.N"; before this install reaches RAUC it still shows the last
        # one's); the download of the bundle comes first
        def writing() -> bool:
            if "Copying image" in guest.ssh(RAUC_PROGRESS).stdout:
                return True
            rc = install_status(base)
            if rc is not None:
                log = guest.ssh(f"tail -n 3 {base}.log").stdout.strip()
                raise StepFailed(f"the install ended (exit {rc}) before the power cut: {log[-400:]}")
            return False

        guest.wait_for("rauc writing the slot", writing, 1500, 2)
        time.sleep(5)
        guest.kill()
        t0 = time.monotonic()
        guest.start()
        st = guest.wait_for("boot after the power cut", guest.state, 900)
        if st["slot"] != before["slot"]:
            raise StepFailed(f"after the power cut slot {st['slot']} booted, expected {before['slot']}")
        guest.wait_for("healthy station after the power cut", guest.healthy, 900)
        return {
            "slot": st["slot"],
            "boot_to_healthy_s": round(time.monotonic() - t0, 1),
            "entries": guest.entries(),
        }

    plan = [
        ("prepare", prepare),
        ("first-boot", first_boot),
        ("update-good", update_good),
        ("update-bad-rollback", update_bad),
        ("refuse-other-key", refused("other-key")),
        ("refuse-corrupt", refused("corrupt")),
        ("power-cut-during-install", power_cut),
    ]

    def on_term(signum, frame) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    interrupted = False
    try:
        for name, fn in plan:
            if only and name not in only and name not in ("prepare", "first-boot"):
                continue
            step(name, fn)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if guest is not None:
            guest.kill()
            for c in sorted(work.glob("console-*.log")):
                shutil.copy(c, out_dir / f"image-test-{c.name}")
        if not args.keep:
            for f in ("disk.img",):
                (work / f).unlink(missing_ok=True)
    summary["total_s"] = round(time.monotonic() - t_all, 1)
    summary["ok"] = all(s["ok"] for s in steps) and not interrupted
    if interrupted:
        summary["interrupted"] = True
        done = {s["name"] for s in steps}
        steps += [{"name": n, "ok": False, "seconds": 0.0, "detail": "not run: interrupted"}
                  for n, _ in plan if n not in done]  # fmt: skip
    (out_dir / "image-test.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0 if summary["ok"] else 1


# Provisioning file for the test: a replayed simulated camera with small frames at a low rate
# (SIM_NIGHT, SIM_FPS), played in real time, so that the station keeps up under QEMU without
# acceleration and leaves CPU for SSH; no broker (reports wait
# in the outbox and the uplink counts as retrying); detection on regardless of the Sun; children
# given long to start.
PROVISIONING = """\
[station]
id = "imgtest"
latitude_deg = 40.45
longitude_deg = 116.6
height_m = 100.0

[night]
always_on = true

[uplink]
enrol_token = "{enrol_token}"

[classifier]
enabled = false

[time]
source = "simulated"

[supervisor]
# without acceleration, and on a busy CI host, a child's imports alone can take minutes
start_timeout_s = 600.0

[network.wifi]
ssid = "test-network"
psk = "{psk}"
country = "NL"

[ssh]
authorized_keys = ["{pubkey}"]

[[camera]]
id = "sim0"
kind = "replay"
path = "/data/skytrail/recordings/sim0.npz"
loop = true
shift_to_now = true
speed = 1.0
"""

# the provisioning file's secrets (enrolment token, Wi-Fi passphrase): they must not stay on the ESP
SECRETS = ("secret-enrolment-token", "not a real passphrase")

# 480x270 (the M3 profile binned 4x), 10 s, looped by the replay camera at SIM_FPS in real time
SIM_FPS = 5.0
SIM_NIGHT = {
    "binning": 4,
    "duration_s": 10.0,
    "meteor_rate_per_hour": 360.0,
    "satellites_per_hour": 0.0,
    "aircraft_per_hour": 0.0,
    "hot_pixels": 5,
    "moon": False,
}

if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
