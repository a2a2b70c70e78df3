"""The bridge's web pages (cloud_bridge.web) over a store filled by the real ingest, solver and upload
paths (conftest.py): what each page shows, per-frame heights, placeholders and readable pages for
missing or broken data, and the pages in headless Chromium with no errors and no broken images."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import numpy as np
from fastapi.testclient import TestClient

from cloud_bridge.api import ApiSettings, create_app
from cloud_bridge.store import Event, Store, Trajectory
from cloud_bridge.web import views


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def get(bridge, url: str):
    return TestClient(bridge.app, raise_server_exceptions=False).get(url)


def event_ids(bridge) -> dict[str, int]:
    """Event id by the shower its orbit belongs to."""
    return {o.shower_code: o.event_id for o in bridge.store.orbits()}


def test_overview_shows_stations_on_a_map_and_latest_events(bridge):
    resp = get(bridge, "/")
    assert resp.status_code == 200
    page = text_of(resp.text)
    for sid, state in zip(bridge.stations, ["online", "degraded", "offline"], strict=True):
        assert f"{sid} {state}" in page
    svg = resp.text.split('id="station-map">')[1].split("</svg>")[0]
    assert svg.lstrip().startswith("<svg") and all(f"/web/stations/{s}" in svg for s in bridge.stations)
    assert "PER" in page and "GEM" in page and "2 in all" in page
    assert "/api" not in resp.text and get(bridge, "/stations").headers["content-type"] == "application/json"


def test_events_list_has_images_placeholders_and_light_curves(bridge):
    resp = get(bridge, "/web/events")
    assert resp.status_code == 200
    ids = event_ids(bridge)
    for event_id in ids.values():
        assert f"/web/plots/events/{event_id}/lightcurve.svg" in resp.text
    for obs_id in (bridge.per[0].observation_id, bridge.per[1].observation_id):
        assert f"/files/{obs_id.split('-')[0]}/{obs_id}/{obs_id}.png" in resp.text
    assert resp.text.count("no image uploaded") == 4  # the third Perseid camera and the Geminids
    assert bridge.plane.observation_id not in resp.text  # screened out of events: an aircraft
    image = get(bridge, f"/files/{bridge.per[0].station_id}/{bridge.per[0].observation_id}/"
                        f"{bridge.per[0].observation_id}.png")  # fmt: skip
    assert image.status_code == 200 and image.content == bridge.pngs[bridge.per[0].observation_id]
    curve = get(bridge, f"/web/plots/events/{ids['PER']}/lightcurve.svg")
    assert curve.headers["content-type"] == "image/svg+xml"
    assert curve.text.startswith("<svg") and "magnitude" in curve.text
    assert all(f"{r.station_id}/{r.camera_id}" in curve.text for r in bridge.per)


def test_event_page_shows_trajectory_orbit_uncertainties_shower_and_residuals(bridge):
    event_id = event_ids(bridge)["PER"]
    resp = get(bridge, f"/web/events/{event_id}")
    assert resp.status_code == 200
    page = text_of(resp.text)
    orbit = next(o for o in bridge.store.orbits() if o.event_id == event_id)
    sigma = orbit.orbit_json["orbit_sigma"]
    assert f"RA {orbit.ra_g_deg:.3f} ± {sigma['ra_g_deg']:.3f}°" in page
    assert f"eccentricity e {orbit.e:.4f} ± {sigma['e']:.4f}" in page
    assert f"geocentric speed v_g {orbit.v_g_kms:.3f} ± {sigma['v_g_kms']:.3f} km/s" in page
    assert "Shower: PER Perseids" in page
    residuals = text_of(resp.text.split('class="residuals"')[1].split("</table>")[0])
    for r in bridge.per:
        assert f"{r.station_id} /{r.camera_id} {len(r.frames)}" in residuals  # the station id is a link
    for plot in ("track.svg", "height.svg?group=0", "lightcurve.svg"):
        assert f"/web/plots/events/{event_id}/{plot}" in resp.text
        svg = get(bridge, f"/web/plots/events/{event_id}/{plot}")
        assert svg.status_code == 200 and svg.text.startswith("<svg") and "cannot draw" not in svg.text
    assert f"/web/plots/radiants.svg?event={event_id}" in resp.text


def test_frame_heights_follow_the_solved_trajectory(bridge):
    event_id = event_ids(bridge)["PER"]
    with bridge.store.transaction() as session:
        solution = session.query(Trajectory).filter_by(event_id=event_id).one().solution_json
    series = views.frame_heights(solution, bridge.store.event_reports(event_id))
    assert sorted(s.label for s in series) == sorted(f"{r.station_id}/{r.camera_id}" for r in bridge.per)
    begin_km = solution["trajectory"]["begin"]["height_m"] / 1e3
    end_km = solution["trajectory"]["end"]["height_m"] / 1e3
    duration_s = solution["trajectory"]["end"]["t_unix"] - solution["trajectory"]["begin"]["t_unix"]
    for s in series:
        assert np.all(np.diff(s.y) < 0)  # falling
        assert np.all((s.y > end_km - 1.0) & (s.y < begin_km + 1.0))
        line_km = begin_km + (end_km - begin_km) * s.x / duration_s  # the line, at constant speed
        assert np.max(np.abs(s.y - line_km)) < 1.5


def test_station_page_shows_state_telemetry_time_quality_and_verdicts(bridge):
    sid = bridge.plane.station_id
    resp = get(bridge, f"/web/stations/{sid}")
    assert resp.status_code == 200
    page = text_of(resp.text)
    assert "CPU 38 %" in page and "Disk free 52.0 GB" in page and "cam1 30.0 frames/s, 12 dropped" in page
    first = get(bridge, f"/web/stations/{bridge.stations[0]}")
    assert 'id="pps-lost"' in first.text and "GPS pulse-per-second lost" in text_of(first.text)
    row = text_of(resp.text.split(f'id="obs-{bridge.plane.observation_id}"')[1].split("</tr>")[0])
    assert "classifier aircraft 0.93" in row and "ADS-B aircraft EZY85MH 4ca7b3" in row
    assert "23.4 km, residual 0.21°" in row and "agrees with the classifier" in row
    per_obs = next(r for r in bridge.per if r.station_id == sid)
    assert f'id="obs-{per_obs.observation_id}"' in resp.text


def test_radiant_plot_colours_orbits_by_shower(bridge):
    resp = get(bridge, "/web/radiants")
    assert resp.status_code == 200 and "PER 1" in text_of(resp.text) and "GEM 1" in text_of(resp.text)
    svg = get(bridge, "/web/plots/radiants.svg").text
    assert svg.startswith("<svg") and "PER (1)" in svg and "GEM (1)" in svg
    assert "/web/events/" in svg  # each radiant links to its event
    only = get(bridge, "/web/plots/radiants.svg?shower=GEM").text
    assert "GEM (1)" in only and "PER (1)" not in only


def test_missing_and_broken_data_give_readable_pages(bridge, tmp_path):
    for url, words in (
        ("/web/events/999", "There is no event 999."),
        ("/web/stations/nowhere", "no station"),
    ):
        resp = get(bridge, url)
        assert resp.status_code == 404 and words in text_of(resp.text)
        assert "text/html" in resp.headers["content-type"]
    assert get(bridge, "/web/events/abc").status_code == 422
    empty = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    client = TestClient(create_app(empty, ApiSettings()), raise_server_exceptions=False)
    page = text_of(client.get("/").text)
    assert "No station has reported its position yet." in page and "No events yet." in page
    assert "No orbits solved yet." in client.get("/web/plots/radiants.svg").text
    # a stored solution that is not what the pages expect: the page and its plots still answer
    now = datetime.now(UTC)
    with empty.transaction() as session:
        event = Event(status="solved", first_utc=now, last_utc=now, created_utc=now, updated_utc=now)
        session.add(event)
        session.flush()
        session.add(
            Trajectory(
                event_id=event.id, begin_utc=now, begin_lat_deg=0, begin_lon_deg=0, begin_height_m=1e5,
                end_height_m=8e4, v_init_kms=30, n_stations=2, solved_at=now,
                solution_json={"ok": True, "trajectory": {"begin": "garbled"}},
            )
        )  # fmt: skip
        event_id = event.id
    resp = client.get(f"/web/events/{event_id}")
    assert resp.status_code == 200 and f"Event #{event_id}" in text_of(resp.text)
    for plot in ("track.svg", "height.svg", "lightcurve.svg"):
        svg = client.get(f"/web/plots/events/{event_id}/{plot}")
        assert svg.status_code == 200 and svg.text.startswith("<svg")
    empty.close()


def test_pages_in_chromium(bridge, browser, web_helpers):
    ids = event_ids(bridge)
    pages = [
        "/",
        "/web/events",
        f"/web/events/{ids['PER']}",
        "/web/radiants",
        f"/web/stations/{bridge.stations[0]}",
    ]
    with web_helpers.LiveServer(bridge.app) as url:
        page = browser.page()
        for path in pages:
            page.goto(url + path)
            page.wait_for_load_state("networkidle")
            assert web_helpers.images_not_loaded(page) == [], path
            assert page.locator("h1").first.is_visible()
        # the map's station markers are links to the station pages
        page.goto(url + "/")
        page.locator(f'#station-map a[href="/web/stations/{bridge.stations[1]}"]').first.click()
        page.wait_for_url(f"**/web/stations/{bridge.stations[1]}")
        assert bridge.stations[1] in page.locator("h1").inner_text()
        page.close()
    assert browser.errors == []
