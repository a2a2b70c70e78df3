"""Speed of the bridge: the solver on a whole event (correlation, trajectory with Monte Carlo, orbit,
shower) against the same solve without Monte Carlo (`bench_solve`), and ingest (`bench_ingest`):
reports stored per second on SQLite and PostgreSQL against decoding alone, and the time from a
report's arrival at the (embedded) broker to its event's stored orbit against solve plus settle."""

from __future__ import annotations

import time

import numpy as np

from cloud_bridge.solve import solve_reports
from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event
from edge.sim.reports import reports_from_plan


def bench_solve(repeats: int = 3, events: int = 8, mc_runs: int = 50) -> dict:
    """Median seconds per event with `mc_runs` Monte Carlo runs and with none (best of `repeats`)."""
    batches = []
    for i in range(events):
        scenario = Scenario(
            seed=100 + i,
            stations=default_network(2 + i % 3, 4),
            meteor={"shower": ("PER", "GEM", "ORI", "LEO")[i % 4]},
        )
        plan = plan_event(scenario)
        batches.append(reports_from_plan(plan, fps_phase_rng=np.random.default_rng(i), noise_arcmin=1.0))

    def per_event(runs: int) -> list[float]:
        best = [np.inf] * len(batches)
        for _ in range(repeats):
            for k, reports in enumerate(batches):
                started = time.perf_counter()
                solve_reports(reports, mc_runs=runs, rng=np.random.default_rng(k))
                best[k] = min(best[k], time.perf_counter() - started)
        return best

    with_mc, without_mc = per_event(mc_runs), per_event(0)
    return {
        "events": events,
        "mc_runs": mc_runs,
        "solve_s_median": round(float(np.median(with_mc)), 4),
        "solve_s_max": round(float(np.max(with_mc)), 4),
        "solve_without_mc_s_median": round(float(np.median(without_mc)), 4),
        "mc_cost_ratio": round(float(np.median(with_mc) / np.median(without_mc)), 2),
    }


SIDEREAL_DAY_S = 86164.0905  # the Earth turns once: the same RA/Dec lines of sight meet again


def _shifted(report, shift_s: float, tag: str):
    """A copy of a report `shift_s` later under a new observation id (a separate event to the bridge).
    The RA/Dec stay: the copy is solvable only when `shift_s` is a whole number of sidereal days."""
    from datetime import timedelta

    frames = [f.model_copy(update={"utc": f.utc + timedelta(seconds=shift_s)}) for f in report.frames]
    return report.model_copy(update={"observation_id": f"{report.observation_id}-{tag}", "frames": frames})


def _event_batches(events: int) -> list[list]:
    batches = []
    for i in range(events):
        scenario = Scenario(
            seed=200 + i, stations=default_network(3, 4), meteor={"shower": ("PER", "GEM")[i % 2]}
        )
        plan = plan_event(scenario)
        batches.append(reports_from_plan(plan, fps_phase_rng=np.random.default_rng(i), noise_arcmin=1.0))
    return batches


def _throughput(url: str, messages: list[tuple[str, bytes]]) -> float:
    from cloud_bridge.ingest.ingestor import Ingestor
    from cloud_bridge.store import Store

    store = Store(url)
    ingestor = Ingestor(store, settle_s=3600.0)  # storing only: no event becomes due
    started = time.perf_counter()
    for topic, payload in messages:
        if ingestor.handle(topic, payload).outcome != "stored":
            raise RuntimeError(f"bench report not stored: {topic}")
    elapsed = time.perf_counter() - started
    store.close()
    return len(messages) / elapsed


def _latency(batches: list[list], settle_s: float, mc_runs: int, workdir: str) -> list[float]:
    """Seconds from the broker's acknowledgement of an event's last report to its orbit in the store."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from cloud_bridge.broker import EmbeddedBroker
    from cloud_bridge.ingest.ingestor import Ingestor
    from cloud_bridge.ingest.mqtt import MqttIngest
    from cloud_bridge.store import Orbit, Store
    from edge.protocol import encode_message, obs_topic

    store = Store(f"sqlite:///{workdir}/latency.db")
    ingestor = Ingestor(store, settle_s=settle_s, mc_runs=mc_runs, poll_s=0.02)
    latencies = []
    with EmbeddedBroker(port=0) as broker, MqttIngest(ingestor, broker.host, broker.port, client_id="bench"):
        ingestor.start()
        station = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-station", protocol=mqtt.MQTTv311)
        station.connect(broker.host, broker.port)
        station.loop_start()
        try:
            for reports in batches:
                before = store.count(Orbit)
                for r in reports:
                    station.publish(obs_topic(r.station_id), encode_message(r), qos=1).wait_for_publish(30)
                arrived = time.perf_counter()  # PUBACK of the last report: the broker has it
                deadline = arrived + 120
                while store.count(Orbit) == before and time.perf_counter() < deadline:
                    time.sleep(0.01)
                if store.count(Orbit) > before:
                    latencies.append(time.perf_counter() - arrived)
        finally:
            station.loop_stop()
            station.disconnect()
            ingestor.stop()
    store.close()
    return latencies


def bench_ingest(
    repeats: int = 3, events: int = 6, copies: int = 10, settle_s: float = 0.5, mc_runs: int = 20
) -> dict:
    """Reports stored per second by `Ingestor.handle` on SQLite and PostgreSQL (best of `repeats`),
    against decoding alone (the wire contract's checks: the floor); and the time from a report's
    arrival at the broker to its event's stored orbit, against the solve alone plus the settle window."""
    import tempfile

    from cloud_bridge.store.pgtemp import PostgresUnavailable, TempPostgres
    from edge.protocol import decode_message, encode_message, obs_topic

    batches = _event_batches(events)
    reports = [
        _shifted(r, 60.0 * (k * events + i), f"b{k}")
        for k in range(copies)
        for i, batch in enumerate(batches)
        for r in batch
    ]
    messages = [(obs_topic(r.station_id), encode_message(r)) for r in reports]

    def decode_all() -> None:
        for topic, payload in messages:
            decode_message(topic, payload)

    decode_s = []
    for _ in range(repeats):
        started = time.perf_counter()
        decode_all()
        decode_s.append(time.perf_counter() - started)
    decode_rate = len(messages) / min(decode_s)
    result: dict = {"reports": len(messages), "decode_only_per_s": round(decode_rate, 1)}
    with tempfile.TemporaryDirectory() as workdir:
        sqlite_rate = max(_throughput(f"sqlite:///{workdir}/t{k}.db", messages) for k in range(repeats))
        result["sqlite_reports_per_s"] = round(sqlite_rate, 1)
        try:
            with TempPostgres() as pg:
                pg_rate = max(_throughput(pg.create_database(f"bench{k}"), messages) for k in range(repeats))
            result["postgresql_reports_per_s"] = round(pg_rate, 1)
        except PostgresUnavailable as exc:
            result["postgresql_reports_per_s"] = f"not measured: {exc}"
        solve_s = []
        for k, batch in enumerate(batches):
            started = time.perf_counter()
            solve_reports(batch, mc_runs=mc_runs, rng=np.random.default_rng(k))
            solve_s.append(time.perf_counter() - started)
        fresh = [
            [_shifted(r, SIDEREAL_DAY_S * (i + 1), "lat") for r in batch] for i, batch in enumerate(batches)
        ]
        latencies = _latency(fresh, settle_s, mc_runs, workdir)
    result.update(
        {
            "latency_events": len(latencies),
            "settle_s": settle_s,
            "mc_runs": mc_runs,
            "arrival_to_orbit_s_median": round(float(np.median(latencies)), 3) if latencies else None,
            "arrival_to_orbit_s_p95": round(float(np.percentile(latencies, 95)), 3) if latencies else None,
            "solve_alone_s_median": round(float(np.median(solve_s)), 3),
            "solve_alone_plus_settle_s_median": round(float(np.median(solve_s)) + settle_s, 3),
        }
    )
    return result
