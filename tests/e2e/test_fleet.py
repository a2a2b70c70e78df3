"""Fleet commands end to end: an admin asks the bridge's API for a test frame; the command goes over
MQTT to a running station (enrolled with a one-time token), which captures the frame and answers; the
bridge stores the answer, and the API shows it."""

import json
import time

import httpx
import pytest

from cloud_bridge.api.config import hash_token
from edge.sim.config import Scenario, default_network
from edge.sim.event import simulate_event
from skytrail.network import Network, StationSpec


@pytest.fixture
def recording(tmp_path):
    scenario = Scenario(seed=3, stations=default_network(1, 1, binning=8))
    truth = simulate_event(scenario, tmp_path / "event")
    cam = truth["cameras"][0]
    site = truth["scenario"]["stations"][0]
    spec = StationSpec(cam["station_id"], site["lat_deg"], site["lon_deg"], site["height_m"],
                       {cam["camera_id"]: [tmp_path / "event" / cam["file"]]})  # fmt: skip
    return spec


def test_a_command_reaches_the_station_and_its_result_comes_back(tmp_path, recording, monkeypatch):
    token = "admin-token-for-the-fleet-test"
    monkeypatch.setenv("SKYTRAIL_API_TOKENS", json.dumps([{"name": "ops", "role": "admin",
                                                           "sha256": hash_token(token)}]))  # fmt: skip
    net = Network(tmp_path / "net", [recording], loop=True)
    try:
        net.start_bridge()
        net.start_stations()
        sid, cam_id = recording.station_id, next(iter(recording.recordings))
        api = httpx.Client(base_url=net.web_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        deadline = time.monotonic() + 300
        online = False
        while time.monotonic() < deadline and not online:  # the station enrolled and said it is online
            stations = api.get("/stations").json()
            online = any(s["station_id"] == sid and s.get("online") for s in stations.get("items", []))
            time.sleep(2)
        assert online, f"station never came online; see {net.workdir / 'logs'}"
        # without a token the command is refused, and nothing is stored
        refused = httpx.post(f"{net.web_url}stations/{sid}/commands", json={"kind": "restart"}, timeout=30)
        assert refused.status_code in (401, 403)
        sent = api.post(f"/stations/{sid}/commands", json={"kind": "capture_test_frame",
                                                           "args": {"camera_id": cam_id}})  # fmt: skip
        assert sent.status_code == 201, sent.text
        request_id = sent.json()["request_id"]
        assert sent.json()["publish_error"] is None
        answer = None
        while time.monotonic() < deadline:
            answer = api.get(f"/commands/{request_id}").json()
            if answer.get("result_utc"):
                break
            time.sleep(1)
        assert answer and answer["result_ok"] is True, answer
        frame = net.workdir / "stations" / sid / "state" / "cameras" / cam_id / "latest.png"
        assert frame.is_file() and frame.stat().st_size > 0
        listing = api.get(f"/stations/{sid}/commands").json()
        assert [c["request_id"] for c in listing["items"]] == [request_id]
    finally:
        net.stop()
