"""First-boot provisioning (edge.station.provision): validation errors name the field, secrets leave
the boot partition, the station's files land on the data partition."""

from __future__ import annotations

import argparse
import json
import os
import stat
import tomllib
from pathlib import Path

import pytest

from edge.station.config import load_config
from edge.station.provision import (
    PROVISIONED_NAME,
    ProvisionError,
    main,
    network_files,
    parse_provisioning,
    provision,
    strip_secrets,
)

PUBKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKl7V3c7J1qjz0kD0x8s0m4b8m0C9Y1h9Kc8gq1Xx2bZ volunteer@laptop"

GOOD = f"""
[station]
id = "ams01"
latitude_deg = 52.37
longitude_deg = 4.90
height_m = 10.0

[uplink]
host = "bridge.example.org"
username = "ams01"
password = "mqtt-secret"
enrol_token = "enrol-secret"

[network]
hostname = "roof-camera"

[network.wifi]
ssid = "School \\"Lab\\""
psk = "wifi passphrase"
country = "NL"

[ssh]
authorized_keys = ["{PUBKEY}"]

[[camera]]
id = "north"
kind = "sim"
"""


def _boot(tmp_path: Path, text: str) -> tuple[Path, Path]:
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "skytrail.toml").write_text(text)
    return boot / "skytrail.toml", tmp_path / "data"


def test_provision_writes_station_files_and_strips_secrets(tmp_path):
    boot_file, data = _boot(tmp_path, GOOD)
    rc = main(argparse.Namespace(boot_file=boot_file, data_dir=data))
    assert rc == 0
    cfg = load_config(data / "station.toml")
    assert cfg.station.id == "ams01"
    assert cfg.uplink.password == "mqtt-secret" and cfg.uplink.enrol_token == "enrol-secret"
    assert cfg.data_dir == data
    assert stat.S_IMODE(os.stat(data / "station.toml").st_mode) == 0o600
    assert (data / "hostname").read_text().strip() == "roof-camera"
    assert (data / "ssh" / "authorized_keys").read_text().strip() == PUBKEY
    wpa = (data / "network" / "wpa_supplicant-wlan0.conf").read_text()
    assert 'psk="wifi passphrase"' in wpa and b'School "Lab"'.hex() in wpa and "country=NL" in wpa
    assert stat.S_IMODE(os.stat(data / "network" / "wpa_supplicant-wlan0.conf").st_mode) == 0o600
    # the boot partition: the original is gone, the kept copy has no secrets
    assert not boot_file.exists()
    kept = (boot_file.parent / PROVISIONED_NAME).read_text()
    for secret in ("mqtt-secret", "enrol-secret", "wifi passphrase"):
        assert secret not in kept
    kept_data = tomllib.loads(kept)
    assert kept_data["uplink"]["host"] == "bridge.example.org"
    assert kept_data["network"]["wifi"]["ssid"] == 'School "Lab"'
    state = json.loads((data / "state" / "provision.json").read_text())
    assert state["ok"] is True and "ams01" in state["message"]


def test_default_hostname_and_ssh_off_without_keys(tmp_path):
    without_ssh = GOOD.replace('hostname = "roof-camera"\n', "").split("[ssh]")[0]
    text = without_ssh + '[[camera]]\nid = "north"\nkind = "sim"\n'
    boot_file, data = _boot(tmp_path, text)
    (data / "ssh").mkdir(parents=True)
    (data / "ssh" / "authorized_keys").write_text(PUBKEY + "\n")  # from an earlier provisioning
    prov = provision(boot_file, data)
    assert prov.hostname == "skytrail-ams01"
    assert not (data / "ssh" / "authorized_keys").exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("latitude_deg = 52.37", "latitude_deg = 95.0"), "station.latitude_deg"),
        (('psk = "wifi passphrase"', 'psk = "short"'), "network.wifi.psk"),
        (('hostname = "roof-camera"', 'hostname = "Roof_Camera"'), "network.hostname"),
        ((f'authorized_keys = ["{PUBKEY}"]', 'authorized_keys = ["not a key"]'), "ssh.authorized_keys"),
        (('kind = "sim"', 'kind = "webcam"'), "camera.0.kind"),
        (('id = "ams01"', 'id = "AMS 01"'), "station.id"),
        (("[network]", "[network]\nproxy = 1"), "network.proxy"),
    ],
)
def test_invalid_fields_are_named_and_the_file_stays(tmp_path, change, expected):
    assert change[0] in GOOD
    boot_file, data = _boot(tmp_path, GOOD.replace(change[0], change[1], 1))
    with pytest.raises(ProvisionError) as err:
        provision(boot_file, data)
    assert expected in str(err.value)
    assert str(boot_file) in str(err.value)
    assert boot_file.exists()
    assert not (data / "station.toml").exists()


def test_malformed_file_is_reported_on_the_local_page(tmp_path):
    boot_file, data = _boot(tmp_path, "[station\nid = ")
    rc = main(argparse.Namespace(boot_file=boot_file, data_dir=data))
    assert rc == 2
    state = json.loads((data / "state" / "provision.json").read_text())
    assert state["ok"] is False and "not valid TOML" in state["message"]
    from edge.station.snapshot import read_snapshot

    snap = read_snapshot(data)
    assert snap is not None and snap.state == "config-error" and "not valid TOML" in snap.config_error
    assert not snap.is_stale()
    assert boot_file.exists()


def test_location_from_gps(tmp_path):
    text = GOOD.replace("latitude_deg = 52.37\nlongitude_deg = 4.90\nheight_m = 10.0", 'location = "gps"')
    prov = parse_provisioning(text, data_dir=tmp_path, locate=lambda: (51.5, -0.1, 45.0))
    assert (prov.station.station.latitude_deg, prov.station.station.longitude_deg) == (51.5, -0.1)
    assert prov.station.station.height_m == 45.0
    with pytest.raises(ProvisionError, match="station.location"):
        parse_provisioning(text.replace('location = "gps"', 'location = "gps"\nlatitude_deg = 1.0'))


def test_gps_position_errors_when_gpsd_is_absent():
    from edge.station.provision import gps_position

    with pytest.raises(ProvisionError, match="gpsd unavailable"):
        gps_position(timeout_s=1.0, port=1)


def test_strip_secrets_removes_only_secrets():
    out = tomllib.loads(strip_secrets(GOOD).split("\n", 3)[3])
    assert "password" not in out["uplink"] and "enrol_token" not in out["uplink"]
    assert "psk" not in out["network"]["wifi"]
    assert out["uplink"]["username"] == "ams01"
    assert out["ssh"]["authorized_keys"] == [PUBKEY]


def test_static_ethernet_and_hex_psk(tmp_path):
    text = GOOD.replace('psk = "wifi passphrase"', f'psk = "{"ab" * 32}"') + (
        '\n[network.ethernet]\naddress = "192.168.1.50/24"\ngateway = "192.168.1.1"\ndns = ["192.168.1.1"]\n'
    )
    # [network.ethernet] after [[camera]] is still the network table in TOML
    prov = parse_provisioning(text, data_dir=tmp_path)
    files = network_files(prov)
    wired = files["70-skytrail-wired.network"][0]
    assert "Address=192.168.1.50/24" in wired and "Gateway=192.168.1.1" in wired
    assert f"psk={'ab' * 32}" in files["wpa_supplicant-wlan0.conf"][0]
    with pytest.raises(ProvisionError, match="network.ethernet.address"):
        parse_provisioning(text.replace("192.168.1.50/24", "192.168.1.50"), data_dir=tmp_path)
