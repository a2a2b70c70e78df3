"""Slow movers are stored but not solved: reports classified as satellites or aircraft, matched to
an ADS-B aircraft, or slower than a meteor stay out of events; the meteor's event is solved as
before from its own reports."""

from __future__ import annotations

from datetime import UTC, datetime

from cloud_bridge.ingest.ingestor import Ingestor
from cloud_bridge.ingest.screen import screen_report
from cloud_bridge.store import EventStatus, Observation, Store
from edge.protocol import encode_message, obs_topic
from edge.protocol.models import AircraftMatch, Classification, ClassLabel, DetectorInfo

NOW = datetime(2026, 8, 12, 21, 0, 0, tzinfo=UTC)


def slow_movers(report):
    def copy(n: int, **update):
        return report.model_copy(update={"observation_id": f"{report.observation_id}-slow{n}", **update})

    return [
        copy(1, classification=Classification(label=ClassLabel.SATELLITE, score=0.93)),
        copy(
            2, aircraft=AircraftMatch(icao24="4ca7b3", callsign="EIN12A", distance_m=9000.0, residual_deg=0.2)
        ),
        copy(3, detector=DetectorInfo(angular_speed_deg_s=0.8, n_frames=40)),
    ]


def test_slow_movers_are_stored_but_not_solved(sqlite_url, meteor, radiant_error_deg):
    plan, reports = meteor
    store = Store(sqlite_url)
    ingestor = Ingestor(store, settle_s=0.0, mc_runs=5)
    movers = slow_movers(reports[0])
    for r in [*reports, *movers]:
        result = ingestor.handle(obs_topic(r.station_id), encode_message(r), NOW)
        assert result.outcome == "stored"
        assert (result.event_id is None) == (r in movers)
    assert ingestor.stats()["not_meteor_like"] == 3
    assert len(ingestor.solve_due(NOW)) == 1
    [event] = store.events()
    assert event.status == EventStatus.SOLVED and event.n_observations == len(reports)
    assert radiant_error_deg(store.orbits()[0], plan) < 0.3
    with store.transaction() as s:
        kept = {o.observation_id: o for o in s.query(Observation).filter(Observation.meteor_like.is_(False))}
    assert sorted(kept) == sorted(m.observation_id for m in movers)
    reasons = sorted(o.screen_reason for o in kept.values())
    assert reasons[0].startswith("angular speed 0.80 deg/s") and "satellite" in reasons[1]
    assert "aircraft 4ca7b3 EIN12A" in reasons[2]
    store.close()


def test_meteor_like_rules(meteor):
    _, reports = meteor
    r = reports[0]
    assert screen_report(r) is None  # no classification, no speed: kept in
    unclassified = Classification(label=ClassLabel.UNCLASSIFIED, reason="model missing")
    assert screen_report(r.model_copy(update={"classification": unclassified})) is None
    fast = DetectorInfo(angular_speed_deg_s=25.0)
    assert screen_report(r.model_copy(update={"detector": fast})) is None
    unsure = Classification(label=ClassLabel.CLOUD, score=0.7)  # a weak non-meteor verdict: kept in
    assert screen_report(r.model_copy(update={"classification": unsure})) is None
    sure = Classification(label=ClassLabel.CLOUD, score=0.95)
    assert "classified as cloud" in screen_report(r.model_copy(update={"classification": sure}))
    meteor = Classification(label=ClassLabel.METEOR, score=0.6)
    slow = DetectorInfo(angular_speed_deg_s=1.2)
    assert "angular speed" in screen_report(r.model_copy(update={"classification": meteor, "detector": slow}))
