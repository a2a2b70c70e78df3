"""Simulated stations for tests, demos and the station benchmark: a simulated night rendered once to a
recording (`edge.camera.recording`), then replayed by `replay` cameras paced in real time.

Rendering frames in real time is beyond a small machine at full size (and four cameras share it), so
a night is rendered ahead (`render_night_recording`) and replayed (`edge.camera.replay`, with
`shift_to_now` so that the frames carry today's times); the replay's meta carries the site, the
nominal camera model and the simulated time quality, as a recording from `skytrail sim` does.
`station_toml` writes a station.toml for such cameras.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge.camera.backend import simulated_time_quality
from edge.camera.recording import Recording, write_recording
from edge.sim.night import NightConfig, plan_night, render_night
from edge.station.config import dump_toml


def render_night_recording(night: NightConfig | dict, path: Path, station_id: str, camera_id: str) -> dict:
    """Render a whole simulated night into a recording at `path`; returns the night's truth summary
    (objects with kind, first and last frame)."""
    cfg = night if isinstance(night, NightConfig) else NightConfig.model_validate(night)
    plan = plan_night(cfg)
    frames, times = [], []
    for nf in render_night(plan):
        frames.append(nf.frame)
        times.append(nf.t_unix)
    cam = plan.camera
    meta = {
        "station_id": station_id,
        "camera_id": camera_id,
        "fps": float(plan.fps),
        "exposure_s": float(cam.profile.exposure_s),
        "site": {"lat_deg": cfg.lat_deg, "lon_deg": cfg.lon_deg, "height_m": cfg.height_m},
        "nominal_model": cam.nominal_model.to_dict(),
        "time_quality": simulated_time_quality().model_dump(mode="json"),
    }
    write_recording(path, Recording(np.stack(frames), np.asarray(times, np.float64), meta))
    objects = []
    for obj in plan.objects:
        tr = obj.truth
        lit = np.flatnonzero(tr.in_field)
        if lit.size:
            objects.append(
                {
                    "kind": tr.kind,
                    "first_frame": int(tr.frame_index[lit[0]]),
                    "last_frame": int(tr.frame_index[lit[-1]]),
                }
            )
    return {"n_frames": len(frames), "fps": float(plan.fps), "objects": objects}


def station_toml(
    path: Path,
    station_id: str,
    data_dir: Path,
    recordings: dict[str, Path],
    *,
    site: tuple[float, float, float] = (40.45, 116.6, 100.0),
    broker: tuple[str, int] | None = None,
    extra: dict[str, Any] | None = None,
    loop: bool = False,
    speed: float = 1.0,
) -> Path:
    """A station.toml with one replay camera per recording, simulated time, always on, no web page."""
    data: dict[str, Any] = {
        "station": {
            "id": station_id,
            "latitude_deg": site[0],
            "longitude_deg": site[1],
            "height_m": site[2],
            "data_dir": str(data_dir),
        },
        "night": {"always_on": True},
        "time": {"source": "simulated"},
        "web": {"enabled": False},
        "uplink": {"host": broker[0], "port": broker[1]} if broker else {},
        "camera": [
            {
                "id": cam_id,
                "kind": "replay",
                "path": str(rec),
                "speed": speed,
                "loop": loop,
                "shift_to_now": True,
            }
            for cam_id, rec in recordings.items()
        ],
    }
    for section, values in (extra or {}).items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    path.write_text(dump_toml(data))
    return path
