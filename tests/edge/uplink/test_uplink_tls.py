"""TLS with a self-made CA (openssl), client certificates and per-station passwords against
Mosquitto with the ACL `pattern readwrite skytrail/v1/%u/#`: a station publishes under its own
topics and not under another station's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import MOSQUITTO, NO_MOSQUITTO, MosquittoBroker, Subscriber, wait_until
from uplink_child import make_report

from edge.protocol import decode_message, encode_message, obs_topic
from edge.uplink import Outbox, TlsConfig, Uplink

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason=NO_MOSQUITTO)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_pki(d: Path, names: list[str]) -> None:
    """A CA, a server certificate for 127.0.0.1/localhost, and one client certificate per name."""
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=skytrail-test-ca",
        cwd=d,
    )
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ext in [("server", ["-extfile", "san.ext"])] + [(n, []) for n in names]:
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={'localhost' if name == 'server' else name}",
            cwd=d,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.crt",
            "-days",
            "2",
            *ext,
            cwd=d,
        )


@pytest.fixture
def tls_broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    pki = tmp_path / "pki"
    pki.mkdir()
    _make_pki(pki, ["ams01", "bridge"])
    passwd = tmp_path / "passwd"
    for i, (user, password) in enumerate([("ams01", "ams01-secret"), ("bridge", "bridge-secret")]):
        flags = ["-c"] if i == 0 else []
        subprocess.run(["mosquitto_passwd", *flags, "-b", str(passwd), user, password], check=True)
    acl = tmp_path / "acl"
    acl.write_text("user bridge\ntopic readwrite skytrail/#\n\npattern readwrite skytrail/v1/%u/#\n")
    b = MosquittoBroker(tmp_path)
    b.extra_config = (
        f"listener {b.port} 127.0.0.1\ncafile {pki / 'ca.crt'}\ncertfile {pki / 'server.crt'}\n"
        f"keyfile {pki / 'server.key'}\nrequire_certificate true\nallow_anonymous false\n"
        f"password_file {passwd}\nacl_file {acl}\n"
    )
    b.start()
    yield b, pki
    b.stop()


def test_station_confined_to_its_own_topics_over_tls(tls_broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    b, pki = tls_broker
    bridge = Subscriber(
        b.host,
        b.port,
        ["skytrail/#"],
        client_id="bridge",
        username="bridge",
        password="bridge-secret",
        tls=(str(pki / "ca.crt"), str(pki / "bridge.crt"), str(pki / "bridge.key")),
    )
    tls = TlsConfig(pki / "ca.crt", pki / "ams01.crt", pki / "ams01.key")
    uplink = Uplink(
        "ams01",
        b.host,
        b.port,
        Outbox(tmp_path / "o.sqlite"),
        tls=tls,
        username="ams01",
        password="ams01-secret",
        reconnect_min_s=0.25,
        reconnect_max_s=1.0,
    )
    intruder = Uplink(
        "ams01",
        b.host,
        b.port,
        Outbox(tmp_path / "o2.sqlite"),
        tls=tls,
        username="ams01",
        password="wrong",
        client_id="intruder",
        reconnect_min_s=0.25,
        reconnect_max_s=1.0,
    )
    uplink.start()
    intruder.start()
    try:
        assert uplink.wait_connected(20)
        # Straight into the outbox: a message for another station's topic (submit_report refuses it).
        foreign = make_report("ber02", 0)
        uplink.outbox.put(
            obs_topic("ber02"), encode_message(foreign), 1, False, "report", foreign.observation_id
        )
        own = [make_report("ams01", n) for n in range(3)]
        for r in own:
            uplink.submit_report(r)
        assert uplink.wait_drained(30)  # the broker acknowledged all four (MQTT 3.1.1 drops silently)

        def own_ids() -> set[str]:
            return {
                decode_message(obs_topic("ams01"), p).observation_id  # type: ignore[attr-defined]
                for p in bridge.on_topic(obs_topic("ams01"))
            }

        assert wait_until(lambda: own_ids() == {r.observation_id for r in own}, 20)
        assert bridge.on_topic(obs_topic("ber02")) == []  # published before the own ones, never delivered
        assert not intruder.connected and intruder.stats["connects"] == 0  # wrong password refused
    finally:
        intruder.stop()
        uplink.stop()
        bridge.close()
