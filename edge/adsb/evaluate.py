"""Score the ADS-B chain on simulated nights: are aircraft tagged, and meteors left alone?

Simulated nights come from `edge.sim.night.plan_night` (one camera, meteors and aircraft crossing
its field, with per-frame truth; nothing is rendered). Every aircraft also broadcasts ADS-B
(`edge.sim.adsb`): its messages go through the whole station chain, Beast bytes in chunks with
arrival times -> `BeastParser` -> `CounterClock` -> `AdsbDecoder` (pyModeS) -> `TrackStore` ->
`match_event`. Events are the objects' TRUE per-frame pixel positions as a detector would report
them (Gaussian noise of `pixel_noise_px`): each aircraft crossing whole, a 3 s piece of it, each
meteor, and, as a hard case, a meteor's track moved onto an aircraft's place and time;
matched through the camera's model after the event ends, with the track
store holding only what had been received by then.

`skytrail eval adsb --json` prints the dict `evaluate_adsb` returns.
"""

from __future__ import annotations

import time

import numpy as np

from edge.adsb.decode import AdsbDecoder
from edge.adsb.match import match_event
from edge.adsb.receiver import frames_from_chunks
from edge.adsb.tracks import TrackStore
from edge.sim.adsb import BroadcastConfig, aircraft_messages, beast_chunks
from edge.sim.night import NightConfig, plan_night

PROCESSING_DELAY_S = 5.0  # the extractor looks at an event this long after it ends
SEGMENT_FRAMES = 90  # 3 s pieces of aircraft tracks


def _night(
    cfg: NightConfig, rng: np.random.Generator, pixel_noise_px: float, broadcast: BroadcastConfig
) -> dict:
    plan = plan_night(cfg)
    cam = plan.camera
    fps = plan.fps
    events = []  # (kind, id, icao or None, t, x, y)
    messages = []
    for obj in plan.objects:
        tr = obj.truth
        sel = tr.in_field & np.isfinite(tr.x_px) & np.isfinite(tr.y_px)
        if np.count_nonzero(sel) < 3:
            continue
        t = plan.t_start_unix + (tr.frame_index[sel] + 0.5) / fps
        x = tr.x_px[sel] + rng.normal(0.0, pixel_noise_px, t.size)
        y = tr.y_px[sel] + rng.normal(0.0, pixel_noise_px, t.size)
        icao = None
        if tr.kind == "aircraft":
            ac = obj.make_layer().aircraft[0]
            icao = ac.icao24
            messages += aircraft_messages(ac, float(t[0]) - 180.0, float(t[-1]) + 60.0, rng, broadcast)
        if tr.kind in ("aircraft", "meteor"):
            events.append((tr.kind, tr.id, icao, t, x, y))
        if tr.kind == "aircraft" and t.size > SEGMENT_FRAMES:  # a short piece, as a detector may report
            k = int(rng.integers(0, t.size - SEGMENT_FRAMES))
            sl = slice(k, k + SEGMENT_FRAMES)
            events.append(("aircraft-segment", tr.id, icao, t[sl], x[sl], y[sl]))
    # adversarial meteors: a real meteor track moved onto an aircraft's place and time
    meteors = [e for e in events if e[0] == "meteor"]
    for e in [e for e in events if e[0] == "aircraft"] if meteors else []:
        _, m_id, _, mt, mx, my = meteors[int(rng.integers(len(meteors)))]
        _, a_id, _, at, ax, ay = e
        k = int(rng.integers(0, at.size))
        mid = mt.size // 2
        dt, dx, dy = at[k] - mt[mid], ax[k] - mx[mid], ay[k] - my[mid]
        events.append(("meteor-on-aircraft", f"{m_id}@{a_id}", None, mt + dt, mx + dx, my + dy))
    chunks = beast_chunks(messages, plan.t_start_unix - 3600.0, rng)
    frames = iter(frames_from_chunks(iter(chunks)))
    decoder = AdsbDecoder(reference=cam.site)
    store = TrackStore(window_s=900.0)
    pending = next(frames, None)
    rows = []
    for kind, obj_id, icao, t, x, y in sorted(events, key=lambda e: e[3][-1]):
        t_now = float(t[-1]) + PROCESSING_DELAY_S
        while pending is not None and pending[0] <= t_now:
            fix = decoder.decode(pending[1].hex, pending[0])
            if fix is not None:
                store.add(fix)
            pending = next(frames, None)
        for a in decoder.aircraft.values():
            store.set_callsign(a.icao24, a.callsign, a.t_last_unix)
        result = match_event(store, cam.site, t, x_px=x, y_px=y, camera_model=cam.model)
        m = result.match
        rows.append(
            {
                "kind": kind,
                "id": obj_id,
                "icao24": icao,
                "matched_icao24": m.icao24 if m else None,
                "callsign": m.callsign if m else None,
                "residual_deg": m.residual_deg if m else None,
                "distance_m": m.distance_m if m else None,
                "frames": int(t.size),
            }
        )
    return {"rows": rows, "decoder": decoder.stats}


def evaluate_adsb(
    seed: int = 1,
    nights: int = 2,
    duration_s: float = 1200.0,
    aircraft_per_hour: float = 90.0,
    meteor_rate_per_hour: float = 300.0,
    pixel_noise_px: float = 1.0,
    broadcast: BroadcastConfig | None = None,
) -> dict:
    """Tagging of simulated aircraft crossings and meteors by the ADS-B chain (see module doc).

    Each night points the camera a different way (azimuth 0, 90, 180, 270 deg, ...)."""
    t_start = time.perf_counter()
    broadcast = broadcast or BroadcastConfig()
    rows, messages, positions = [], 0, 0
    for i in range(nights):
        cfg = NightConfig(
            seed=seed + i,
            duration_s=duration_s,
            az_deg=(90.0 * i) % 360.0,
            aircraft_per_hour=aircraft_per_hour,
            meteor_rate_per_hour=meteor_rate_per_hour,
            satellites_per_hour=0.0,
            insects_per_hour=0.0,
            hot_pixels=0,
            moon=False,
        )
        out = _night(cfg, np.random.default_rng([seed, i, 10]), pixel_noise_px, broadcast)
        rows += out["rows"]
        messages += out["decoder"].messages
        positions += out["decoder"].positions
    aircraft = [r for r in rows if r["kind"] == "aircraft"]
    meteors = [r for r in rows if r["kind"] == "meteor"]
    tagged = [r for r in aircraft if r["matched_icao24"] == r["icao24"]]
    segments = [r for r in rows if r["kind"] == "aircraft-segment"]
    adversarial = [r for r in rows if r["kind"] == "meteor-on-aircraft"]
    residuals = [r["residual_deg"] for r in tagged]
    return {
        "aircraft_crossings": len(aircraft),
        "tagged": len(tagged),
        "tagged_fraction": len(tagged) / len(aircraft) if aircraft else None,
        "wrong_aircraft": sum(1 for r in aircraft if r["matched_icao24"] not in (None, r["icao24"])),
        "meteors": len(meteors),
        "meteors_mis_tagged": sum(1 for r in meteors if r["matched_icao24"] is not None),
        "median_match_residual_deg": float(np.median(residuals)) if residuals else None,
        "p95_match_residual_deg": float(np.percentile(residuals, 95)) if residuals else None,
        "segments": len(segments),
        "segment_tagged_fraction": (
            sum(r["matched_icao24"] == r["icao24"] for r in segments) / len(segments) if segments else None
        ),
        "meteors_on_aircraft": len(adversarial),
        "meteors_on_aircraft_mis_tagged": sum(1 for r in adversarial if r["matched_icao24"] is not None),
        "messages_decoded": messages,
        "positions_decoded": positions,
        "nights": nights,
        "night_duration_s": duration_s,
        "seconds": round(time.perf_counter() - t_start, 1),
        "untagged": [r["id"] for r in aircraft if r["matched_icao24"] != r["icao24"]],
    }
