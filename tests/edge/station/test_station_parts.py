"""The station's parts without processes: config validation, the night schedule, the spilling queue
and the disk budget, the health check, systemd notifications."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from edge.detect.detector import Event
from edge.station.config import ConfigError, load_config, merge
from edge.station.event_queue import DiskBudget, EventQueue, event_from_bytes, event_to_bytes
from edge.station.health import check_health
from edge.station.schedule import NightSchedule
from edge.station.snapshot import CameraSnapshot, ComponentSnapshot, StationSnapshot, write_snapshot
from edge.station.supervisor import sd_notify

MINIMAL = """
[station]
id = "ams01"
latitude_deg = 52.37
longitude_deg = 4.90
data_dir = "{data}"

[[camera]]
id = "north"
kind = "sim"
"""


def _event(t0: float, h: int = 40, w: int = 60) -> Event:
    n = 5
    return Event(
        frame_index=np.arange(n, dtype=np.int64) + int(t0),
        t_unix=t0 + np.arange(n) / 30.0,
        x_px=np.linspace(5, 20, n),
        y_px=np.linspace(5, 10, n),
        flux_adu=np.ones(n),
        bbox=np.zeros((n, 4), np.int32),
        n_pixels=np.ones(n, np.int32),
        speed_px_per_frame=3.0,
        kind="fast",
        clip=np.zeros((n + 4, 10, 12), np.uint8),
        clip_origin=(1, 2),
        clip_frame_index=np.arange(n + 4),
        clip_t_unix=np.arange(n + 4) / 30.0,
        max_pixel=np.zeros((h, w), np.uint8),
        max_frame=np.zeros((h, w), np.uint16),
        mean=np.random.default_rng(0).random((h, w), np.float32),
        std=np.ones((h, w), np.float32),
        mask=np.zeros((h, w), bool),
    )


def test_minimal_config_has_working_defaults(tmp_path):
    p = tmp_path / "station.toml"
    p.write_text(MINIMAL.format(data=tmp_path))
    cfg = load_config(p)
    assert cfg.night.sun_altitude_deg == -12.0 and not cfg.night.always_on
    assert cfg.uplink.port == 1883 and cfg.queue.memory_events == 16 and not cfg.adsb.enabled
    assert cfg.mask_path(cfg.camera[0]) == tmp_path / "masks" / "north.png"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"station": {"latitude_deg": 123.0}}, "station.latitude_deg"),
        ({"camera": [{"id": "a", "kind": "v4l2", "device": "/dev/video0"}]}, "camera.0"),
        ({"camera": [{"id": "a", "kind": "sim", "colour": 1}]}, "unknown key"),
        ({"uplink": {"tls": True}}, "ca_file"),
        ({"camera": [{"id": "a", "kind": "sim"}, {"id": "a", "kind": "sim"}]}, "unique"),
    ],
)
def test_bad_config_names_the_field(tmp_path, change, field):
    import tomllib

    from edge.station.config import dump_toml

    data = merge(tomllib.loads(MINIMAL.format(data=tmp_path)), change)
    p = tmp_path / "bad.toml"
    p.write_text(dump_toml(data))
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    assert field in str(exc.value) and str(p) in str(exc.value)


def test_night_schedule_follows_the_sun():
    s = NightSchedule(52.37, 4.90, 0.0, -12.0)
    assert s.is_night(datetime(2026, 1, 15, 23, 0, tzinfo=UTC))
    assert not s.is_night(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    w = s.window(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    # against astral's own dusk/dawn solver (a different search than the schedule's scan)
    from astral.sun import SunDirection, time_at_elevation

    dusk = time_at_elevation(s.observer, -12.0, datetime(2026, 1, 15).date(), SunDirection.SETTING)
    dawn = time_at_elevation(s.observer, -12.0, datetime(2026, 1, 16).date(), SunDirection.RISING)
    assert abs(w.start_utc - dusk) < timedelta(seconds=30) and abs(w.end_utc - dawn) < timedelta(seconds=30)
    assert abs(s.sun_altitude(w.start_utc) + 12.0) < 0.1
    assert NightSchedule(52.37, 4.9, always_on=True).is_night(datetime(2026, 6, 21, 12, tzinfo=UTC))
    midsummer = NightSchedule(78.2, 15.6).window(datetime(2026, 6, 21, 12, tzinfo=UTC))
    assert midsummer.start_utc is None  # Svalbard: no night in June


def test_event_round_trips_through_spill_bytes():
    ev = _event(100.0)
    info, back = event_from_bytes(event_to_bytes({"camera_id": "c"}, ev))
    assert info == {"camera_id": "c"} and back.kind == "fast" and back.clip_origin == (1, 2)
    assert np.array_equal(back.mean, ev.mean) and np.array_equal(back.t_unix, ev.t_unix)


def test_queue_spills_beyond_memory_and_keeps_order_across_a_restart(tmp_path):
    budget = DiskBudget(10**9, tmp_path / "products", tmp_path / "spill")
    q = EventQueue(2, tmp_path / "spill", budget)
    for k in range(5):
        assert q.put({"n": k}, _event(100.0 + k))
    assert len(q) == 5 and q.on_disk == 3 and q.spilled_total == 3
    first = q.get(0)
    assert first[0] == {"n": 0} and first[2] is None
    assert q.spill_all() == 1  # clean stop: the one left in memory goes to disk, ahead of the rest
    q2 = EventQueue(2, tmp_path / "spill", budget)
    order = []
    while (item := q2.get(0)) is not None:
        order.append(item[0]["n"])
        q2.done(item[2])
    assert order == [1, 2, 3, 4] and not list((tmp_path / "spill").glob("*.npz"))


def test_full_disk_budget_prunes_oldest_raw_clips_first_and_keeps_reports(tmp_path):
    products = tmp_path / "products" / "st1" / "cam1"
    products.mkdir(parents=True)
    for k in range(6):  # six observations, oldest first: 200 kB clips, small reports
        for suffix, size in (
            (".mp4", 100_000),
            (".fits", 100_000),
            (".png", 5_000),
            (".ecsv", 1_000),
            (".json", 2_000),
        ):
            p = products / f"obs{k}{suffix}"
            p.write_bytes(b"x" * size)
            os.utime(p, (1_000 + k, 1_000 + k))
    budget = DiskBudget(800_000, tmp_path / "products", tmp_path / "spill")
    q = EventQueue(1, tmp_path / "spill", budget)
    q.put({}, _event(1.0))  # in memory
    used_before = budget.used_bytes()
    assert q.put({}, _event(2.0))  # spilled: needs room, so the oldest clips go
    left = sorted(p.name for p in products.iterdir())
    assert "obs0.mp4" not in left and "obs0.fits" not in left
    assert "obs5.mp4" in left and "obs5.fits" in left
    assert all(f"obs{k}.json" in left and f"obs{k}.png" in left for k in range(6))  # reports kept
    assert budget.used_bytes() <= budget.budget_bytes
    # a budget that only reports fill: the event is refused, counted, never dropped silently
    tiny = DiskBudget(40_000, tmp_path / "products", tmp_path / "spill")
    q2 = EventQueue(1, tmp_path / "spill2", tiny)
    q2.put({}, _event(3.0))
    assert not q2.put({"camera_id": "cam1"}, _event(4.0)) and q2.refused == 1
    assert all(f"obs{k}.json" in {p.name for p in products.iterdir()} for k in range(6))
    print(
        f"FIGURE disk_budget_bytes=800000 used_before={used_before} used_after={budget.used_bytes()} "
        f"pruned_files={budget.pruned_files} reports_kept=6 refused_when_only_reports_left={q2.refused}"
    )


def _snapshot(**kw) -> StationSnapshot:
    base = dict(
        station_id="st1",
        software_version="1",
        utc=datetime.now(UTC),
        state="online",
        extractor=ComponentSnapshot(state="ok"),
        uplink_broker="b:1883",
    )
    return StationSnapshot(**{**base, **kw})


def test_health_from_the_snapshot(tmp_path):
    assert not check_health(tmp_path)[0]
    now = datetime.now(UTC)
    cam = CameraSnapshot(camera_id="c1", state="capturing", last_frame_utc=now - timedelta(seconds=2))
    write_snapshot(tmp_path, _snapshot(cameras=[cam]))
    assert check_health(tmp_path) == (True, "online; cameras with frames: c1; uplink retrying")
    old = cam.model_copy(update={"last_frame_utc": now - timedelta(seconds=60)})
    write_snapshot(tmp_path, _snapshot(cameras=[old]))
    assert "no camera delivered a frame" in check_health(tmp_path)[1]
    write_snapshot(tmp_path, _snapshot(cameras=[old], state="day-idle"))
    assert check_health(tmp_path)[0]
    write_snapshot(tmp_path, _snapshot(utc=now - timedelta(minutes=5)))
    assert "not running" in check_health(tmp_path)[1]


def test_sd_notify_sends_to_the_notify_socket(tmp_path, monkeypatch):
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(path)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        assert sd_notify("READY=1") and sd_notify("WATCHDOG=1")
        assert s.recv(100) == b"READY=1" and s.recv(100) == b"WATCHDOG=1"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not sd_notify("READY=1")


def test_cli_check_config(tmp_path, capsys):
    from skytrail.cli import main

    p = tmp_path / "station.toml"
    p.write_text(MINIMAL.format(data=tmp_path))
    assert main(["station", "check-config", str(p)]) == 0
    p.write_text(MINIMAL.format(data=tmp_path).replace("52.37", "152.37"))
    assert main(["station", "check-config", str(p)]) == 2
    assert "station.latitude_deg" in capsys.readouterr().err
