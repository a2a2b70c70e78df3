"""First-boot provisioning: `skytrail.toml` on the boot partition -> the station's own files on the
data partition, with the secrets stripped from the boot partition's copy.

Input: the provisioning file a volunteer writes onto the boot partition (FAT, readable from any
computer) before the first boot; `skytrail-provision.service` runs this module when the file is
there (`python -m edge.station.provision --boot-file /boot/efi/skytrail.toml --data-dir
/data/skytrail`, or `skytrail station provision`). The file holds the station config
(`edge.station.config.StationConfig`: [station], [uplink], [[camera]] ...) and two sections of its own:

    [station]
    id = "ams01"
    location = "gps"          # or latitude_deg / longitude_deg / height_m
    [network]
    hostname = "skytrail-ams01"            # default: skytrail-<station id>
    [network.wifi]                         # optional
    ssid = "school"
    psk = "a passphrase"                   # 8-63 characters, or 64 hex digits
    country = "NL"
    [network.ethernet]                     # optional; default DHCP
    address = "192.168.1.50/24"
    gateway = "192.168.1.1"
    dns = ["192.168.1.1"]
    [ssh]                                  # optional; without it SSH stays off
    authorized_keys = ["ssh-ed25519 AAAA... volunteer@laptop"]

Outputs, all under the data directory (the data partition, never touched by updates):
`station.toml` (mode 0600), `hostname`, `network/*.network` and `network/wpa_supplicant-wlan0.conf`,
`ssh/authorized_keys` (applied at each boot by `/usr/lib/skytrail/apply-local-settings`), and
`state/provision.json` with the outcome. On success the boot partition keeps
`skytrail.provisioned.toml` without secrets (uplink password, enrolment token, Wi-Fi passphrase)
and `skytrail.toml` is removed; a new `skytrail.toml` provisions again. A file that fails
validation is left in place to be corrected, and the error goes to `state/provision.json` and, when
the station has no valid config yet, into the status snapshot that the local page shows.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import re
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edge.station.config import ConfigError, StationConfig, dump_toml, validate_config

log = logging.getLogger("skytrail.provision")

PROVISIONED_NAME = "skytrail.provisioned.toml"
STATE_FILE = Path("state") / "provision.json"
# (section, key) pairs that never stay on the boot partition
SECRET_KEYS = (("uplink", "password"), ("uplink", "enrol_token"), ("network.wifi", "psk"))
SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
HOSTNAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class ProvisionError(ValueError):
    """The provisioning file cannot be applied; the message names the file, the field and the problem."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WifiSection(_Section):
    ssid: str = Field(min_length=1, max_length=32)
    psk: str | None = Field(None, description="WPA passphrase (8-63 printable ASCII) or 64 hex digits")
    country: str = Field("00", pattern=r"^[A-Z0-9]{2}$", description="ISO 3166 code for the radio rules")
    interface: str = Field("wlan0", pattern=r"^[a-z0-9]{1,15}$")

    @field_validator("psk")
    @classmethod
    def _psk(cls, v: str | None) -> str | None:
        if v is None or re.fullmatch(r"[0-9a-fA-F]{64}", v):
            return v
        if not 8 <= len(v) <= 63 or not all(32 <= ord(c) < 127 for c in v):
            raise ValueError("a WPA passphrase is 8 to 63 printable ASCII characters (or 64 hex digits)")
        return v


class EthernetSection(_Section):
    address: str | None = Field(None, description="static address with prefix, e.g. 192.168.1.50/24")
    gateway: str | None = None
    dns: list[str] = Field(default_factory=list)

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None:
            if "/" not in v:
                raise ValueError("give the prefix length too, e.g. 192.168.1.50/24")
            ipaddress.ip_interface(v)
        return v

    @field_validator("gateway")
    @classmethod
    def _gateway(cls, v: str | None) -> str | None:
        if v is not None:
            ipaddress.ip_address(v)
        return v

    @field_validator("dns")
    @classmethod
    def _dns(cls, v: list[str]) -> list[str]:
        for server in v:
            ipaddress.ip_address(server)
        return v


class NetworkSection(_Section):
    hostname: str | None = Field(None, description="default skytrail-<station id>; answers at <name>.local")
    wifi: WifiSection | None = None
    ethernet: EthernetSection | None = None

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, v: str | None) -> str | None:
        if v is not None and not HOSTNAME_RE.match(v):
            raise ValueError(
                "a host name is 1-63 lower-case letters, digits and '-', not starting or ending with '-'"
            )
        return v


class SshSection(_Section):
    authorized_keys: list[str] = Field(default_factory=list, description="OpenSSH public key lines")

    @field_validator("authorized_keys")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        for i, line in enumerate(v):
            parts = line.split()
            if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
                raise ValueError(
                    f"key {i}: not an OpenSSH public key line (want '<type> <base64> [comment]', "
                    f"type one of {', '.join(SSH_KEY_TYPES)})"
                )
            if "PRIVATE KEY" in line:
                raise ValueError(f"key {i}: this is a private key; give the public key (.pub)")
        return v


class ProvisioningExtras(_Section):
    """The sections of skytrail.toml that are not station config."""

    network: NetworkSection = Field(default_factory=NetworkSection)
    ssh: SshSection | None = None


class Provisioning(BaseModel):
    """A validated provisioning file: the station config plus network and SSH settings."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    station_data: dict[str, Any]
    station: StationConfig
    extras: ProvisioningExtras

    @property
    def hostname(self) -> str:
        return self.extras.network.hostname or f"skytrail-{self.station.station.id}"


def _problems(exc: ValidationError, source: str) -> str:
    return f"{source}: " + "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()
    )


def gps_position(
    timeout_s: float = 120.0, host: str = "127.0.0.1", port: int = 2947
) -> tuple[float, float, float]:
    """Latitude, longitude (deg) and height above the ellipsoid (m) from gpsd's first 3-D fix."""
    import time

    from gpsdclient import GPSDClient

    deadline = time.monotonic() + timeout_s
    try:
        with GPSDClient(host=host, port=port, timeout=timeout_s) as client:
            for msg in client.dict_stream(convert_datetime=False, filter=["TPV"]):
                if int(msg.get("mode", 0) or 0) >= 3 and "lat" in msg and "lon" in msg:
                    height_m = msg.get("altHAE", msg.get("alt", 0.0))
                    return float(msg["lat"]), float(msg["lon"]), float(height_m)
                if time.monotonic() >= deadline:
                    break
    except (OSError, ValueError) as exc:
        raise ProvisionError(f'station.location = "gps": gpsd unavailable: {exc}') from None
    raise ProvisionError(f'station.location = "gps": no 3-D GPS fix within {timeout_s:.0f} s')


def parse_provisioning(
    text: str, source: str = "skytrail.toml", data_dir: Path | None = None, locate=gps_position
) -> Provisioning:
    """Validate a provisioning file's text; ProvisionError naming the field and the problem.

    `data_dir` fills [station] data_dir when the file leaves it out; `locate` gives the position
    when [station] location = "gps"."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProvisionError(f"{source}: not valid TOML: {exc}") from None
    extras_data = {k: data.pop(k) for k in ("network", "ssh") if k in data}
    try:
        extras = ProvisioningExtras.model_validate(extras_data)
    except ValidationError as exc:
        raise ProvisionError(_problems(exc, source)) from None
    station_part = data.get("station")
    if not isinstance(station_part, dict):
        raise ProvisionError(f"{source}: station: the [station] table (id, location) is missing")
    location = station_part.pop("location", None)
    if location is not None:
        if location != "gps":
            raise ProvisionError(
                f'{source}: station.location: only "gps" is understood (or give latitude_deg ...)'
            )
        if "latitude_deg" in station_part or "longitude_deg" in station_part:
            raise ProvisionError(
                f'{source}: station.location: give location = "gps" or latitude_deg/longitude_deg, not both'
            )
        lat, lon, height = locate()
        station_part.update(latitude_deg=lat, longitude_deg=lon, height_m=height)
    if data_dir is not None:
        station_part.setdefault("data_dir", str(data_dir))
    try:
        station = validate_config(data, source)
    except ConfigError as exc:
        raise ProvisionError(str(exc)) from None
    return Provisioning(station_data=data, station=station, extras=extras)


def strip_secrets(text: str) -> str:
    """The provisioning file's content without its secrets, as TOML (comments are not kept)."""
    data = tomllib.loads(text)
    removed = []
    for section, key in SECRET_KEYS:
        table: Any = data
        for part in section.split("."):
            table = table.get(part) if isinstance(table, dict) else None
        if isinstance(table, dict) and key in table:
            del table[key]
            removed.append(f"{section}.{key}")
    header = (
        f"# Applied {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}; the station keeps its own copy\n"
        f"# on the data partition. Removed here: {', '.join(removed) or 'nothing'}.\n"
        "# Put a new skytrail.toml beside this file to provision again.\n"
    )
    return header + dump_toml(data)


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    """Write atomically (temporary file, fsync, rename) so that a power cut leaves old or new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.chmod(tmp, mode)
    except PermissionError:  # FAT (the boot partition) has no modes: its mount's umask applies
        pass
    os.replace(tmp, path)


def _wpa_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def network_files(prov: Provisioning) -> dict[str, tuple[str, int]]:
    """File name under network/ -> (content, mode) for systemd-networkd and wpa_supplicant."""
    net = prov.extras.network
    files: dict[str, tuple[str, int]] = {}
    eth = net.ethernet
    if eth is not None and eth.address is not None:
        lines = ["[Match]", "Name=en* eth*", "", "[Network]", f"Address={eth.address}"]
        lines += [f"Gateway={eth.gateway}"] if eth.gateway else []
        lines += [f"DNS={d}" for d in eth.dns]
        files["70-skytrail-wired.network"] = ("\n".join(lines) + "\n", 0o644)
    wifi = net.wifi
    if wifi is not None:
        ssid_hex = wifi.ssid.encode().hex()  # hex form: any SSID, no quoting rules
        if wifi.psk is None:
            key = "    key_mgmt=NONE"
        elif len(wifi.psk) == 64:
            key = f"    psk={wifi.psk.lower()}"
        else:
            key = f"    psk={_wpa_quote(wifi.psk)}"
        conf = (
            "ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev\nupdate_config=0\n"
            f"country={wifi.country}\n\n"
            f"network={{\n    ssid={ssid_hex}\n{key}\n}}\n"
        )
        files[f"wpa_supplicant-{wifi.interface}.conf"] = (conf, 0o600)
        files["75-skytrail-wifi.network"] = (
            f"[Match]\nName={wifi.interface}\n\n[Network]\nDHCP=yes\n",
            0o644,
        )
    return files


def apply(prov: Provisioning, data_dir: Path) -> list[Path]:
    """Write the station's files under `data_dir` (see the module docstring); returns them."""
    written: list[Path] = []
    station_toml = data_dir / "station.toml"
    _write(station_toml, dump_toml(prov.station_data), 0o600)
    written.append(station_toml)
    _write(data_dir / "hostname", prov.hostname + "\n")
    written.append(data_dir / "hostname")
    net_dir = data_dir / "network"
    net_dir.mkdir(parents=True, exist_ok=True)
    wanted = network_files(prov)
    for old in net_dir.iterdir():  # settings left out of the new file are switched off
        if old.name not in wanted and old.name.startswith(("70-skytrail", "75-skytrail", "wpa_supplicant-")):
            old.unlink()
    for name, (content, mode) in wanted.items():
        _write(net_dir / name, content, mode)
        written.append(net_dir / name)
    ssh_dir = data_dir / "ssh"
    keys = prov.extras.ssh.authorized_keys if prov.extras.ssh else []
    if keys:
        ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(ssh_dir, 0o700)
        _write(ssh_dir / "authorized_keys", "\n".join(keys) + "\n", 0o600)
        written.append(ssh_dir / "authorized_keys")
    else:
        (ssh_dir / "authorized_keys").unlink(missing_ok=True)  # no key: SSH stays off
    return written


def _record(data_dir: Path, ok: bool, boot_file: Path, message: str) -> None:
    state = {
        "ok": ok,
        "utc": datetime.now(UTC).isoformat(),
        "boot_file": str(boot_file),
        "message": message,
    }
    _write(data_dir / STATE_FILE, json.dumps(state, indent=1) + "\n")


def _show_error_on_page(data_dir: Path, message: str) -> None:
    """Without a valid station config nothing else writes the snapshot: write one with the error."""
    from edge.station.snapshot import StationSnapshot, write_snapshot

    try:
        from skytrail import __version__ as version
    except ImportError:
        version = "unknown"
    snapshot = StationSnapshot(
        station_id="unprovisioned",
        software_version=version,
        utc=datetime.now(UTC),
        state="config-error",
        message="the provisioning file skytrail.toml on the boot partition was refused",
        config_error=message,
        stale_after_s=10 * 365 * 86400.0,  # nothing refreshes it until the file is fixed
    )
    write_snapshot(data_dir, snapshot)


def provision(boot_file: Path, data_dir: Path, locate=gps_position) -> Provisioning:
    """Validate `boot_file`, write the station's files under `data_dir`, then replace the boot
    file by a copy without secrets. ProvisionError (file left in place) when it is not valid."""
    try:
        text = boot_file.read_text()
    except OSError as exc:
        raise ProvisionError(f"{boot_file}: cannot read: {exc.strerror or exc}") from None
    prov = parse_provisioning(text, str(boot_file), data_dir, locate)
    apply(prov, data_dir)
    # data partition first, then the boot partition: a power cut in between provisions again
    _write(boot_file.with_name(PROVISIONED_NAME), strip_secrets(text), 0o600)
    boot_file.unlink()
    return prov


def main(args: argparse.Namespace) -> int:
    """Entry point of `skytrail station provision` and `python -m edge.station.provision`."""
    boot_file, data_dir = Path(args.boot_file), Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        prov = provision(boot_file, data_dir)
    except ProvisionError as exc:
        message = str(exc)
        log.error("provision ok=false boot_file=%s error=%r", boot_file, message)
        print(f"skytrail provision: refused: {message}", file=sys.stderr)
        _record(data_dir, False, boot_file, message)
        if not (data_dir / "station.toml").exists():
            _show_error_on_page(data_dir, message)
        return 2
    message = (
        f"station {prov.station.station.id} provisioned; host name {prov.hostname}; "
        f"ssh {'on' if prov.extras.ssh and prov.extras.ssh.authorized_keys else 'off'}; "
        f"wifi {'on' if prov.extras.network.wifi else 'off'}"
    )
    log.info("provision ok=true station=%s hostname=%s", prov.station.station.id, prov.hostname)
    print(f"skytrail provision: {message}")
    _record(data_dir, True, boot_file, message)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m edge.station.provision", description=__doc__.splitlines()[0])
    p.add_argument("--boot-file", type=Path, required=True, help="skytrail.toml on the boot partition")
    p.add_argument("--data-dir", type=Path, default=Path("/data/skytrail"))
    return p


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sys.exit(main(_parser().parse_args()))
