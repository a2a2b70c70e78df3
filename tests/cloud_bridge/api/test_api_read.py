"""Every route returns what the Ingestor stored: stations, observations, events with trajectory and
orbit, radiants, showers; filters by time, station, shower and status; pagination bounds."""

from __future__ import annotations

from cloud_bridge.store import Event, Observation, Orbit, Station
from edge.catalogue.showers import load_showers


def test_stations_list_and_item(client, filled):
    body = client.get("/stations").json()
    assert body["total"] == filled.store.count(Station) == len(filled.stations)
    ids = [s["station_id"] for s in body["items"]]
    assert ids == sorted(ids) and set(filled.stations) <= set(ids)
    report = next(r for r in filled.per_reports if r.station_id == filled.owned)
    one = client.get(f"/stations/{filled.owned}").json()
    assert one["lat_deg"] == report.location.lat_deg and one["height_m"] == report.location.height_m
    assert client.get("/stations/zz-none").status_code == 404


def test_observations_match_the_store(client, filled):
    body = client.get("/observations", params={"limit": 50}).json()
    assert body["total"] == filled.store.count(Observation) == len(filled.per_reports) + len(filled.lone)
    r = filled.per_reports[0]
    one = client.get(f"/observations/{r.observation_id}").json()
    assert one["report"]["observation_id"] == r.observation_id
    assert len(one["report"]["frames"]) == one["n_frames"] == len(r.frames)
    only = client.get("/observations", params={"station_id": filled.lone[0].station_id, "limit": 50}).json()
    assert {o["station_id"] for o in only["items"]} == {filled.lone[0].station_id}
    assert client.get("/observations/no-such-id").status_code == 404


def test_events_with_trajectory_orbit_and_failure(client, filled):
    body = client.get("/events").json()
    assert body["total"] == filled.store.count(Event) == 2
    solved = [e for e in body["items"] if e["status"] == "solved"]
    failed = [e for e in body["items"] if e["status"] == "failed"]
    assert len(solved) == 1 and len(failed) == 1
    assert "one station" in failed[0]["failure_reason"] and not failed[0]["orbits"]
    event = solved[0]
    assert event["station_ids"] == filled.stations and len(event["observation_ids"]) == len(
        filled.per_reports
    )
    (orbit,) = event["orbits"]
    stored = filled.store.orbits()[0]
    assert orbit["ra_g_deg"] == stored.ra_g_deg and orbit["shower_code"] == "PER"
    assert orbit["orbit"]["orbit"]["ra_g_deg"] == stored.ra_g_deg
    (traj,) = event["trajectories"]
    assert traj["solution"]["trajectory"]["v_init_kms"] == traj["v_init_kms"]
    assert abs(orbit["v_g_kms"] - filled.per.radiant.v_g_kms) < 1.0
    assert client.get(f"/events/{event['id']}").json() == event
    assert client.get("/events/999999").status_code == 404


def test_event_filters(client, filled):
    def ids(**params):
        return [e["id"] for e in client.get("/events", params=params).json()["items"]]

    solved, failed = (e.id for e in sorted(filled.store.events(), key=lambda e: e.status != "solved"))
    assert ids(shower="PER") == [solved] and ids(shower="per") == [solved] and ids(shower="GEM") == []
    assert ids(station_id=filled.lone[0].station_id) == sorted(
        [failed] + ([solved] if filled.lone[0].station_id in filled.stations else [])
    )
    assert ids(status="failed") == [failed]
    t = filled.per_reports[0].frames[0].utc
    assert solved in ids(since=(t.replace(year=t.year - 1)).isoformat())
    assert solved not in ids(since=(t.replace(year=t.year + 1)).isoformat())
    assert solved not in ids(until=(t.replace(year=t.year - 1)).isoformat().replace("+00:00", ""))


def test_orbits_and_radiants(client, filled):
    body = client.get("/orbits/radiants").json()
    assert body["total"] == filled.store.count(Orbit) == 1
    assert body["items"][0]["shower_code"] == "PER"
    assert client.get("/orbits", params={"shower": "GEM"}).json()["total"] == 0
    assert client.get("/orbits").json()["items"][0]["orbit"]["shower"]["code"] == "PER"


def test_showers_are_the_bridge_table(client):
    table = load_showers()
    body = client.get("/showers").json()
    assert [s["code"] for s in body] == sorted(table)
    per = client.get("/showers/per").json()
    assert per["ra_deg"] == table["PER"].ra_deg and per["v_g_kms"] == table["PER"].v_g_kms
    assert client.get("/showers/XYZ").status_code == 404


def test_pagination_bounds(client, filled):
    n = filled.store.count(Observation)
    pages = [client.get("/observations", params={"limit": 5, "offset": o}).json() for o in range(0, n, 5)]
    seen = [o["observation_id"] for p in pages for o in p["items"]]
    assert len(seen) == len(set(seen)) == n and all(p["total"] == n for p in pages)
    assert client.get("/observations").json()["limit"] == 20  # the default page
    assert client.get("/observations", params={"offset": n}).json()["items"] == []
    too_many = client.get("/observations", params={"limit": 51})
    assert too_many.status_code == 422 and "maximum page size 50" in too_many.json()["detail"]
    for bad in ({"limit": 0}, {"offset": -1}, {"offset": 10**12}):
        assert client.get("/observations", params=bad).status_code == 422
    assert "openapi" in client.get("/openapi.json").json()
