"""Store operations on SQLite and PostgreSQL: idempotent observations, replays refused, events
grouped by time (and merged when a report bridges two), solver claims that a late report makes
stale, latest status kept, product files recorded once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloud_bridge.store import Event, EventStatus, Observation, Orbit, ReplayConflict, Store, Trajectory
from edge.protocol import ObservationReport, StationState, StationStatus

NOW = datetime(2026, 8, 12, 21, 0, 0, tzinfo=UTC)


def shifted(report: ObservationReport, dt_s: float, n: int) -> ObservationReport:
    """The report moved by dt_s seconds under a new observation id (a different meteor)."""
    frames = [f.model_copy(update={"utc": f.utc + timedelta(seconds=dt_s)}) for f in report.frames]
    return report.model_copy(update={"frames": frames, "observation_id": f"{report.observation_id}-x{n}"})


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def add(store: Store, report: ObservationReport, now: datetime = NOW, settle_s: float = 0.0):
    with store.transaction() as s:
        obs, new = store.add_observation(s, report, now)
        event_id = store.attach_to_event(s, obs, settle_s=settle_s, now_utc=now).id if new else obs.event_id
    return new, event_id


def test_observation_stored_once_and_replay_refused(store, meteor_reports):
    _, reports = meteor_reports
    r = reports[0]
    assert add(store, r)[0] is True
    assert add(store, r, NOW + timedelta(minutes=5))[0] is False  # redelivery: nothing changes
    assert store.count(Observation) == 1 and store.count(Event) == 1
    with store.transaction() as s:
        row = s.query(Observation).one()
        assert row.received_utc == NOW and row.report_json == r.model_dump(mode="json")
        assert row.first_utc == r.frames[0].utc and row.n_frames == len(r.frames)
    tampered = r.model_copy(update={"camera_id": "cam9"})
    with pytest.raises(ReplayConflict, match="different content"), store.transaction() as s:
        store.add_observation(s, tampered, NOW)
    with store.transaction() as s:
        assert s.query(Observation).one().camera_id == r.camera_id


def test_events_group_by_time_and_merge(store, meteor_reports):
    _, reports = meteor_reports
    a, b, c = reports[:3]
    ev_a = add(store, a)[1]
    assert add(store, b)[1] == ev_a  # same meteor, another station: same event
    far = shifted(c, 3600.0, 1)
    ev_far = add(store, far)[1]
    assert ev_far != ev_a
    # two reports 5 s apart are separate events until a long report bridges them
    x, y = shifted(a, 600.0, 2), shifted(b, 605.0, 3)
    ev_x, ev_y = add(store, x)[1], add(store, y)[1]
    assert ev_x != ev_y
    long = shifted(c, 600.0, 4)
    long = long.model_copy(
        update={
            "frames": [
                long.frames[0],
                long.frames[-1].model_copy(update={"utc": long.frames[0].utc + timedelta(seconds=5)}),
            ]
        }
    )
    ev_long = add(store, long)[1]
    assert ev_long == min(ev_x, ev_y)
    events = {e.id: e for e in store.events()}
    assert max(ev_x, ev_y) not in events
    assert events[ev_long].n_observations == 3 and events[ev_a].n_observations == 2
    assert events[ev_a].n_stations == 2 and events[ev_far].n_observations == 1


def test_claims_and_stale_solutions(store, meteor_reports):
    _, reports = meteor_reports
    add(store, reports[0], settle_s=30.0)
    assert store.claim_due_events(NOW + timedelta(seconds=10)) == []  # still settling
    claims = store.claim_due_events(NOW + timedelta(seconds=31))
    assert len(claims) == 1 and store.claim_due_events(NOW + timedelta(seconds=32)) == []  # claimed once
    solution = {
        "ok": True,
        "station_ids": ["st1", "st2"],
        "observation_ids": [reports[0].observation_id],
        "trajectory": {
            "begin": {"lat_deg": 40.0, "lon_deg": 116.0, "height_m": 1e5, "t_unix": NOW.timestamp()},
            "end": {"height_m": 8e4},
            "v_init_kms": 60.0,
            "residual_rms_arcmin": 1.0,
            "sigma": {"radiant_deg": 0.05},
        },
        "orbit": {"ra_g_deg": 48.0, "dec_g_deg": 58.0, "v_g_kms": 59.0, "e": 0.9},
        "shower": {"code": "PER"},
    }
    # a late report arrives while the solver works: its result is stale and not stored
    add(store, reports[1], NOW + timedelta(seconds=40), settle_s=30.0)
    assert store.store_solutions(claims[0], [solution], NOW) is False
    assert store.count(Trajectory) == 0
    event = store.events()[0]
    assert event.status == EventStatus.PENDING and event.revision == 2
    claims = store.claim_due_events(NOW + timedelta(seconds=80))
    assert store.store_solutions(claims[0], [solution], NOW) is True
    orbit = store.orbits(shower_code="PER")[0]
    assert (orbit.ra_g_deg, orbit.v_g_kms, orbit.sigma_radiant_deg) == (48.0, 59.0, 0.05)
    assert orbit.begin_utc == NOW and store.orbits(shower_code="GEM") == []
    event = store.events()[0]
    assert event.status == EventStatus.SOLVED and event.solved_at == NOW and event.n_solves == 1
    # solving again replaces, never adds; a failed solve keeps its reason
    add(store, shifted(reports[2], 0.0, 5), NOW + timedelta(seconds=90))
    claims = store.claim_due_events(NOW + timedelta(seconds=91))
    assert store.store_solutions(claims[0], [{"ok": False, "failure_reason": "poor geometry"}], NOW)
    event = store.events()[0]
    assert event.status == EventStatus.FAILED and event.failure_reason == "poor geometry"
    assert store.count(Trajectory) == 0 and store.count(Orbit) == 0


def test_latest_status_kept(store):
    def status(minute: int, state: StationState) -> StationStatus:
        return StationStatus(
            station_id="ams01", state=state, software_version="0.1.0", utc=NOW + timedelta(minutes=minute)
        )

    with store.transaction() as s:
        assert store.set_status(s, status(5, StationState.ONLINE), NOW)
        assert not store.set_status(s, status(1, StationState.OFFLINE), NOW)  # older: a replay
    station = store.station("ams01")
    assert station.state == "online" and station.status_utc == NOW + timedelta(minutes=5)


def test_files_recorded_once(store):
    args = dict(
        station_id="ams01",
        name="ams01-cam1-x.fits",
        sha256="a" * 64,
        size_bytes=10,
        path="files/ams01/ams01-cam1-x.fits",
        uploaded_utc=NOW,
    )
    with store.transaction() as s:
        assert store.add_file(s, **args)[1] is True
        assert store.add_file(s, **args)[1] is False
    with pytest.raises(ReplayConflict), store.transaction() as s:
        store.add_file(s, **{**args, "sha256": "b" * 64})
