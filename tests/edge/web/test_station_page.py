"""The station's local page (edge.web): what it shows from the station's files, how it copes with a
missing or corrupt snapshot, and the sky-mask editor (validation over HTTP; drawing with the mouse
in headless Chromium, then the PNG on disk)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from edge.station.snapshot import STATUS_FILE, write_snapshot
from edge.web import create_app

HTML = {"Accept": "text/html"}


def client(data_dir, config_path=None) -> TestClient:
    return TestClient(create_app(data_dir, config_path), raise_server_exceptions=False)


def text_of(html: str) -> str:
    """The page's text with tags removed and white space collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_status_page_shows_what_the_station_is_doing(station_dir):
    resp = client(station_dir.root).get("/")
    assert resp.status_code == 200
    page = text_of(resp.text)
    snap = station_dir.snapshot
    assert f"{snap.station_id}" in page and "degraded" in page and "Detecting meteors" in page
    assert "GPS pulse-per-second lost" in page and 'id="pps-lost"' in resp.text
    assert "Estimated error 20.0 ms" in page and "gps-nmea" in page
    # cameras: state, rate, dropped frames, restarts, error message, latest frame
    assert "cam1 capturing" in page and "cam2 error" in page
    assert "30.0 frames/s" in page and "Dropped frames 12" in page and "Restarts 3" in page
    assert "v4l2: device disconnected" in page
    assert "/cameras/cam1/latest.png" in resp.text
    # disk and network
    assert "52.0 GB" in page and "4.5 GB of 20.0 GB budget" in page
    assert "connected bridge.example.org:8883" in page
    assert "Outbox (reports waiting) 7" in page and "4 (2 spilled to disk)" in page
    # components
    assert "ADS-B receiver degraded feed dropped 3 times in the last hour" in page
    assert "Classifier ok" in page


def test_latest_events_show_verdict_beside_the_aircraft_match(station_dir):
    resp = client(station_dir.root).get("/")
    page = text_of(resp.text)
    plane, meteor = station_dir.plane, station_dir.meteor
    # the aircraft: the classifier's label and score beside the ADS-B callsign, range and residual
    row = text_of(resp.text.split(f'id="event-{plane.observation_id}"')[1].split("</tr>")[0])
    assert "aircraft 0.91" in row and "EZY85MH (4ca7b3)" in row
    assert "23.4 km, residual 0.21" in row and "agrees with the classifier" in row
    row = text_of(resp.text.split(f'id="event-{meteor.observation_id}"')[1].split("</tr>")[0])
    assert "meteor 0.97" in row and "none" in row
    assert page.index(plane.observation_id) < page.index(meteor.observation_id)  # newest first
    png = client(station_dir.root).get(f"/products/{meteor.camera_id}/{meteor.observation_id}.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_page_without_a_snapshot_says_so(tmp_path):
    resp = client(tmp_path).get("/")
    assert resp.status_code == 200
    page = text_of(resp.text)
    assert "No status file yet" in page and "status.json" in page
    assert "No camera has reported yet" in page and "No events yet" in page
    assert client(tmp_path).get("/api/status").json()["snapshot"] is None


def test_corrupt_snapshot_gives_a_readable_page(station_dir):
    path = station_dir.root / STATUS_FILE
    path.write_text('{"station_id": "st1", "utc": "not a time"')  # cut off mid-write by a bug
    resp = client(station_dir.root).get("/")
    assert resp.status_code == 200
    page = text_of(resp.text)
    assert "The station's status file cannot be read" in page and str(path) in page
    # what the files still say is shown: frames, and events read from the products
    assert "cam1" in page and station_dir.plane.observation_id in page and "EZY85MH" in page
    api = client(station_dir.root).get("/api/status").json()
    assert api["snapshot"] is None and "not a valid station snapshot" in api["problems"][0]


def test_stale_snapshot_is_flagged(station_dir):
    old = station_dir.snapshot.model_copy(update={"utc": datetime.now(UTC) - timedelta(minutes=5)})
    write_snapshot(station_dir.root, old)
    page = text_of(client(station_dir.root).get("/").text)
    assert "the station service is not running or is stuck" in page


def test_refused_config_is_shown(station_dir, tmp_path):
    refused = station_dir.snapshot.model_copy(
        update={"state": "config-error", "config_error": "camera[1].kind: unknown backend 'usb3'"}
    )
    write_snapshot(station_dir.root, refused)
    page = text_of(client(station_dir.root).get("/").text)
    assert (
        "The station refused its configuration" in page and "camera[1].kind: unknown backend 'usb3'" in page
    )
    # a config file the station cannot load is reported even with no snapshot at all
    bad = tmp_path / "station.toml"
    bad.write_text("[station\nid = 'x'\n")
    resp = client(tmp_path / "empty", bad).get("/")
    assert resp.status_code == 200
    assert 'id="config-error"' in resp.text and str(bad) in text_of(resp.text)


def test_mask_saved_from_polygons_has_the_frame_size(station_dir):
    c = client(station_dir.root)
    body = {"width_px": 640, "height_px": 360, "polygons": [[[0, 300], [640, 300], [640, 360], [0, 360]]]}
    resp = c.put("/api/cameras/cam1/mask", json=body)
    assert resp.status_code == 200, resp.text
    mask = np.asarray(Image.open(station_dir.root / "masks" / "cam1.png"))
    assert mask.shape == (360, 640) and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 255}
    assert mask[330, 320] == 0 and mask[100, 320] == 255  # the roof band is ignored, the rest is sky
    assert resp.json()["sky_fraction"] == pytest.approx(300 / 360, abs=0.01)
    saved = c.get("/api/cameras/cam1/mask").json()
    assert saved["exists"] and saved["saved"]["polygons"] == body["polygons"]
    # polygons that enclose the sky instead
    sky = {**body, "polygons_mark": "sky", "polygons": [[[100, 50], [500, 50], [300, 300]]]}
    assert c.put("/api/cameras/cam1/mask", json=sky).status_code == 200
    mask = np.asarray(Image.open(station_dir.root / "masks" / "cam1.png"))
    assert mask[100, 300] == 255 and mask[10, 10] == 0
    assert c.delete("/api/cameras/cam1/mask").json()["removed"] is True
    assert not (station_dir.root / "masks" / "cam1.png").exists()


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"width_px": 640, "height_px": 360, "polygons": [[[0, 0], [700, 0], [0, 100]]]}, 422, "outside"),
        ({"width_px": 640, "height_px": 360, "polygons": [[[0, 0], [10, 10]]]}, 422, "at least 3"),
        ({"width_px": 640, "height_px": 360, "polygons": [[[0, 0], [5, 5], [10, 10]]]}, 422, "no area"),
        ({"width_px": 1920, "height_px": 1080, "polygons": []}, 409, "now gives 640x360"),
        ({"width_px": 640, "height_px": 360, "polygons": [[[0, 0], [1, "x"], [3, 3]]]}, 422, "number"),
    ],
)
def test_bad_masks_are_refused_with_the_reason(station_dir, body, status, words):
    resp = client(station_dir.root).put("/api/cameras/cam1/mask", json=body)
    assert resp.status_code == status
    assert words in json.dumps(resp.json())
    assert not (station_dir.root / "masks" / "cam1.png").exists()


def test_unknown_cameras_and_paths_are_not_found(station_dir):
    c = client(station_dir.root)
    assert c.put("/api/cameras/cam9/mask", json={"width_px": 1, "height_px": 1}).status_code == 404
    resp = c.get("/cameras/cam9/mask", headers=HTML)
    assert resp.status_code == 404 and "no latest frame" in text_of(resp.text)
    assert c.get("/cameras/..%2F..%2Fetc/latest.png").status_code == 404
    assert c.get("/products/cam1/..%2F..%2Fstate%2Fstatus.png").status_code == 404
    assert c.get("/nothing-here", headers=HTML).status_code == 404


# -- in the browser -----------------------------------------------------------------------------


def test_pages_in_chromium_and_mask_drawn_with_the_mouse(station_dir, browser, web_helpers):
    root = station_dir.root
    with web_helpers.LiveServer(create_app(root, None)) as url:
        page = browser.page()
        page.goto(url + "/")
        assert page.locator("#pps-lost").is_visible()
        assert page.locator(".event").count() == 2
        assert web_helpers.images_not_loaded(page) == []

        page.goto(url + "/cameras/cam1/mask")
        page.wait_for_selector("#editor-status:has-text('Ready')")
        canvas = page.locator("#mask-canvas").bounding_box()
        k = canvas["width"] / 640  # screen pixels per frame pixel

        def at(x_px: float, y_px: float) -> tuple[float, float]:
            return canvas["x"] + x_px * k, canvas["y"] + y_px * k

        # a roof outlined by clicks, closed on its first corner
        for x, y in [(20, 250), (300, 250), (300, 350), (20, 350), (20, 250)]:
            page.mouse.click(*at(x, y))
        # a tree encircled by dragging
        page.mouse.move(*at(450, 40))
        page.mouse.down()
        for x, y in [(600, 40), (600, 200), (450, 200), (450, 45)]:
            page.mouse.move(*at(x, y), steps=8)
        page.mouse.up()
        page.click("#save")
        page.wait_for_selector("#editor-status:has-text('Saved: 2 shape(s)')")
        mask = np.asarray(Image.open(root / "masks" / "cam1.png"))
        assert mask.shape == (360, 640)
        assert mask[300, 160] == 0 and mask[120, 525] == 0  # inside the roof and the tree
        assert mask[100, 160] == 255 and mask[300, 400] == 255 and mask[10, 10] == 255
        assert 0.6 < np.mean(mask == 255) < 0.85

        # cleared and drawn again: only the new shape is masked
        page.click("#clear")
        for x, y in [(100, 20), (200, 20), (150, 120)]:
            page.mouse.click(*at(x, y))
        page.keyboard.press("Enter")
        page.click("#save")
        page.wait_for_selector("#editor-status:has-text('Saved: 1 shape(s)')")
        mask = np.asarray(Image.open(root / "masks" / "cam1.png"))
        assert mask[50, 150] == 0 and mask[300, 160] == 255 and mask[120, 525] == 255

        # reloaded, the editor shows the saved shape again
        page.reload()
        page.wait_for_selector("#editor-status:has-text('Ready: 1 saved shape(s)')")

        # a corrupt snapshot still gives a readable page in the browser
        (root / STATUS_FILE).write_text("{garbage")
        page.goto(url + "/")
        assert "status file cannot be read" in page.locator(".problem-line").first.inner_text()
        page.close()
    assert browser.errors == []
