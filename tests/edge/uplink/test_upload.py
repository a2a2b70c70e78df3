"""The station's FileUploader against the bridge's real HTTP service: a file sent in chunks survives
a connection cut mid-way (resumed from the bridge's offset, no byte sent twice), queued files
survive a restart of the station, and a file the bridge must refuse is marked failed with the
reason instead of being retried forever."""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest
from bridge_http import BridgeHttp, free_port

from cloud_bridge.fleet.enrolment import create_enrolment_token, enrol
from cloud_bridge.store.models import ProductFile
from edge.uplink.upload import FileUploader

OBS = "st-a-cam1-20261214T000000.000Z-0"


@pytest.fixture
def bridge(tmp_path):
    b = BridgeHttp(tmp_path).start()
    token, _ = create_enrolment_token(b.store, "st-a", created_by="test")
    b.token = enrol(b.store, "st-a", token).http_token
    yield b
    b.stop()


class CutAfter(httpx.HTTPTransport):
    """Real HTTP, except that the n-th PUT fails as a dropped connection would."""

    def __init__(self, n: int):
        super().__init__()
        self.n, self.puts, self.heads = n, 0, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            self.heads += 1
        if request.method == "PUT":
            self.puts += 1
            if self.puts == self.n:
                raise httpx.ConnectError("connection reset (simulated)", request=request)
        return super().handle_request(request)


def stored_bytes(bridge, name: str) -> bytes:
    return b"".join(bridge.files.iter_bytes(f"files/st-a/{OBS}/{name}"))


def test_upload_resumes_after_a_cut(bridge, tmp_path):
    data = os.urandom(300_000)
    path = tmp_path / "meteor.mp4"
    path.write_bytes(data)
    transport = CutAfter(3)
    uploader = FileUploader(
        bridge.url,
        "st-a",
        bridge.token,
        tmp_path / "spool.sqlite",
        chunk_bytes=64 * 1024,
        retry_initial_s=0.05,
        transport=transport,
    )
    uploader.enqueue(path, OBS, "mp4")
    assert uploader.pending() == 1
    uploader.start()
    assert uploader.wait_drained(60)
    uploader.close()
    assert stored_bytes(bridge, "meteor.mp4") == data
    assert uploader.bytes_sent == len(data)  # the cut chunk was sent again, nothing else
    print(f"chunks PUT {transport.puts} (one cut), HEAD {transport.heads}, bytes sent {uploader.bytes_sent}")
    assert transport.heads == 2 and transport.puts == 6
    assert httpx.get(uploader.url_for(OBS, "meteor.mp4")).content == data


def test_queue_survives_a_restart(bridge, tmp_path):
    path = tmp_path / "frame.png"
    path.write_bytes(b"\x89PNG" + os.urandom(5000))
    down = FileUploader(
        f"http://127.0.0.1:{free_port()}",
        "st-a",
        bridge.token,
        tmp_path / "spool.sqlite",
        retry_initial_s=0.05,
        retry_max_s=0.2,
    )
    down.enqueue(path, OBS, "png")
    down.start()
    assert not down.wait_drained(0.5)  # the bridge is unreachable: it stays queued
    down.close()
    again = FileUploader(bridge.url, "st-a", bridge.token, tmp_path / "spool.sqlite").start()
    assert again.pending() == 1 and again.wait_drained(30)
    again.close()
    assert stored_bytes(bridge, "frame.png") == path.read_bytes()


def test_refused_file_is_marked_failed(bridge, tmp_path):
    path = tmp_path / "m.fits"
    path.write_bytes(b"A" * 1000)
    uploader = FileUploader(bridge.url, "st-a", bridge.token, tmp_path / "spool.sqlite", retry_initial_s=0.05)
    uploader.enqueue(path, OBS, "fits")
    path.write_bytes(b"B" * 1000)  # changed after it was queued: its sha256 is no longer the queued one
    uploader.start()
    assert uploader.wait_drained(30)
    [(obs, name, reason)] = uploader.failed()
    uploader.close()
    assert (obs, name) == (OBS, "m.fits") and "changed after it was queued" in reason
    with bridge.store.transaction() as s:
        assert s.query(ProductFile).count() == 0


def test_other_stations_token_is_refused(bridge, tmp_path):
    token, _ = create_enrolment_token(bridge.store, "st-b", created_by="test")
    other = enrol(bridge.store, "st-b", token).http_token
    path = tmp_path / "x.png"
    path.write_bytes(b"x" * 100)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    response = httpx.put(
        f"{bridge.url}/files/st-a/{OBS}/x.png",
        content=path.read_bytes(),
        headers={"Authorization": f"Bearer {other}", "Content-Range": "bytes 0-99/100", "X-Sha256": sha},
    )
    assert (
        response.status_code == 403 and "may not upload files of station 'st-a'" in response.json()["detail"]
    )
    with bridge.store.transaction() as s:
        assert s.query(ProductFile).count() == 0
