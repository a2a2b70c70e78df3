"""Resumable uploads of product files through the API into a local folder and into a real
S3-compatible server (moto's standalone S3 server, `moto[server]`, on a loopback port: an emulation
of the S3 HTTP API, not AWS itself): chunks, offsets after an interruption, sha256 against the
announced one and the report's, the station token's limits, downloads."""

from __future__ import annotations

import hashlib
import os
import socket
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from cloud_bridge.api import ApiSettings, TokenSpec, create_app
from cloud_bridge.files import LocalFileStore, S3FileStore
from cloud_bridge.ingest.ingestor import Ingestor
from cloud_bridge.store import Store
from cloud_bridge.store.models import ProductFile, Upload
from edge.protocol import Product, ProductKind, encode_message, obs_topic

ST_A, ST_B = "Bearer station-a-token", "Bearer station-b-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def file_store(request, tmp_path):
    if request.param == "local":
        return LocalFileStore(tmp_path / "files")
    endpoint = request.getfixturevalue("s3_server")
    return S3FileStore(
        f"skytrail-{os.getpid()}-{free_port()}", "bridge", endpoint_url=endpoint, create_bucket=True
    )


def make_app(store: Store, files, max_chunk_bytes: int = 1 << 20) -> TestClient:
    settings = ApiSettings(
        tokens=[
            TokenSpec.from_plain("sta", "station", ST_A.split()[1], ["st-a"]),
            TokenSpec.from_plain("stb", "station", ST_B.split()[1], ["st-b"]),
        ],
        max_chunk_bytes=max_chunk_bytes,
    )
    with store.transaction() as s:
        for sid in ("st-a", "st-b"):
            store.touch_station(s, sid, datetime.now(UTC))
    return TestClient(create_app(store, settings, files=files))


def put(client, url, data: bytes, start: int, total: int, sha: str, token: str = ST_A):
    headers = {"Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}", "X-Sha256": sha}
    return client.put(url, content=data, headers={**headers, "Authorization": token})


def test_resumable_upload_and_download(sqlite_url, file_store):
    store = Store(sqlite_url)
    client = make_app(store, file_store)
    data = os.urandom(250_000)
    sha = hashlib.sha256(data).hexdigest()
    url = "/files/st-a/st-a-cam1-20261214T000000.000Z-0/meteor.fits"
    assert client.head(url, headers={"Authorization": ST_A}).status_code == 404

    first = put(client, url, data[:100_000], 0, len(data), sha)
    assert first.status_code == 200 and first.headers["Upload-Offset"] == "100000"
    assert first.json() == {"offset": 100_000, "total": 250_000, "sha256": sha, "complete": False}
    # the connection broke; the station asks where to go on
    head = client.head(url, headers={"Authorization": ST_A})
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "100000"
    # a chunk from the wrong place is refused with the offset to resume from
    stale = put(client, url, data[50_000:150_000], 50_000, len(data), sha)
    assert stale.status_code == 409 and stale.headers["Upload-Offset"] == "100000"
    done = put(client, url, data[100_000:], 100_000, len(data), sha)
    assert done.status_code == 201 and done.json()["complete"] is True

    got = client.get(url)
    assert got.status_code == 200 and got.content == data and got.headers["X-Sha256"] == sha
    listed = client.get("/files", params={"station_id": "st-a"}).json()
    assert listed["total"] == 1 and listed["items"][0]["url"] == url
    assert put(client, url, data, 0, len(data), sha).status_code == 201  # a repeat changes nothing
    with store.transaction() as s:
        assert s.query(ProductFile).count() == 1 and s.query(Upload).count() == 0
    store.close()


def test_refusals_store_nothing(sqlite_url, tmp_path):
    store = Store(sqlite_url)
    client = make_app(store, LocalFileStore(tmp_path / "files"), max_chunk_bytes=64 * 1024)
    data = os.urandom(3000)
    sha = hashlib.sha256(data).hexdigest()
    url = "/files/st-a/st-a-cam1-20261214T000000.000Z-0/frame.png"
    assert put(client, url, data, 0, len(data), sha, token="").status_code in (401, 403)
    assert put(client, url, data, 0, len(data), sha, token="Bearer wrong").status_code == 401
    other = put(client, url, data, 0, len(data), sha, token=ST_B)
    assert other.status_code == 403 and "may not upload files of station 'st-a'" in other.json()["detail"]
    bad_sha = put(client, url, data, 0, len(data), "0" * 64)
    assert bad_sha.status_code == 422 and "not the announced" in bad_sha.json()["detail"]
    too_big = put(client, url, os.urandom(65 * 1024), 0, 65 * 1024, sha)
    assert too_big.status_code == 413
    bad_range = client.put(
        url, content=data, headers={"Authorization": ST_A, "X-Sha256": sha, "Content-Range": "bytes 0-10/5"}
    )
    assert bad_range.status_code == 400
    traversal = client.put(
        "/files/st-a/..%2F..%2Fetc/passwd",
        content=data,
        headers={"Authorization": ST_A, "X-Sha256": sha, "Content-Range": "bytes 0-2999/3000"},
    )
    assert traversal.status_code in (404, 422)
    with store.transaction() as s:
        assert s.query(ProductFile).count() == 0 and s.query(Upload).count() == 0
    assert not any(p.is_file() for p in (tmp_path / "files").rglob("*"))
    store.close()


@pytest.fixture(scope="module")
def reports():
    import numpy as np

    from edge.sim.config import Scenario, default_network
    from edge.sim.event import plan_event
    from edge.sim.reports import reports_from_plan

    plan = plan_event(Scenario(seed=7, stations=default_network(2, 4), meteor={"shower": "PER"}))
    return reports_from_plan(plan, fps_phase_rng=np.random.default_rng(1))


def test_sha256_checked_against_the_report(db_url, tmp_path, reports):
    store = Store(db_url)
    client = make_app(store, LocalFileStore(tmp_path / "files"))
    data = b"SIMPLE  =                    T" * 100
    sha = hashlib.sha256(data).hexdigest()
    report = reports[0].model_copy(
        update={
            "station_id": "st-a",
            "observation_id": "st-a-cam1-x-0",
            "products": [Product(kind=ProductKind.FITS, name="m.fits", sha256=sha, size_bytes=len(data))],
        }
    )
    assert Ingestor(store).handle(obs_topic("st-a"), encode_message(report)).outcome == "stored"
    url = "/files/st-a/st-a-cam1-x-0/m.fits"
    other = data[::-1] + b"x"
    refused = put(client, url, other, 0, len(other), hashlib.sha256(other).hexdigest())
    assert (
        refused.status_code == 422
        and "the report of 'st-a-cam1-x-0' lists 'm.fits'" in refused.json()["detail"]
    )
    assert put(client, url, data, 0, len(data), sha).status_code == 201
    store.close()
