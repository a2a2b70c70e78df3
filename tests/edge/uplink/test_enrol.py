"""Station enrolment against the bridge's real HTTP service: the one-time token gives credentials that
are stored with mode 0600 and load back; the token cannot be spent twice; the HTTP token works for
uploads."""

from __future__ import annotations

import stat

import pytest
from bridge_http import BridgeHttp

from cloud_bridge.fleet.enrolment import create_enrolment_token
from edge.uplink.enrol import EnrolmentError, credentials_path, enrol, load_credentials
from edge.uplink.upload import FileUploader


@pytest.fixture
def bridge(tmp_path):
    (tmp_path / "bridge").mkdir()
    b = BridgeHttp(tmp_path / "bridge").start()
    yield b
    b.stop()


def test_enrol_stores_private_credentials(bridge, tmp_path):
    token, _ = create_enrolment_token(bridge.store, "st-e", created_by="test")
    data_dir = tmp_path / "station"
    assert load_credentials(data_dir) is None
    creds = enrol(bridge.url, "st-e", token, data_dir)
    assert creds.mqtt_username == "st-e" and creds.http_token
    assert stat.S_IMODE(credentials_path(data_dir).stat().st_mode) == 0o600
    assert load_credentials(data_dir) == creds
    with pytest.raises(EnrolmentError, match="already used"):
        enrol(bridge.url, "st-e", token, tmp_path / "other")
    with pytest.raises(EnrolmentError, match="not valid"):
        enrol(bridge.url, "st-e", "guessed", tmp_path / "other")

    product = tmp_path / "p.ecsv"
    product.write_text("# %ECSV 1.0\n")
    uploader = FileUploader(bridge.url, "st-e", creds.http_token, data_dir / "uploads.sqlite").start()
    uploader.enqueue(product, "st-e-cam1-x-0", "ecsv")
    assert uploader.wait_drained(30) and not uploader.failed()
    uploader.close()


def test_damaged_credentials_file_is_an_error(tmp_path):
    credentials_path(tmp_path).write_text("{not json")
    with pytest.raises(ValueError, match="enrol again"):
        load_credentials(tmp_path)
