"""The extractor's input queue: detector events held in memory, spilled to disk when it falls behind,
and the disk budget that bounds spill and products together.

Input: `(camera_info, Event)` items from the camera processes (`edge.station.camera_process`,
through the extractor's socket). The first `memory_events` wait in memory; beyond that (a twilight
full of satellites, a slow calibration) new items are written to `<data_dir>/spill/` as one .npz
each (written whole, then renamed) and read back later. Order is first in, first out over both:
once anything is on disk, new items go to disk behind it, so the oldest event is always processed
first. On a clean stop the items still in memory are spilled too, so a restart loses none.

The disk budget (`DiskBudget`) covers the spill folder and the products folder. When an item does
not fit, the oldest raw clips (an observation's .mp4 and .fits, which hold its frames) are pruned
first; reports (.json), pictures (.png) and measurements (.ecsv) are kept. If pruning cannot make
room the event is refused: counted in `refused`, logged with its camera and time, and shown in the
status, never dropped silently.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from edge.detect.detector import Event

log = logging.getLogger(__name__)

CLIP_SUFFIXES = (".mp4", ".fits")  # what pruning removes, per observation, oldest first


INFO_ARRAY = "info."  # array entries of the camera info (the star stack) are stored as info.<key>.<name>


def event_to_bytes(info: dict, event: Event) -> bytes:
    """An item as .npz bytes: the event's arrays, and its scalars with the camera info as JSON (the
    arrays of a table in the info, such as `star_stack`, stored as arrays of their own)."""
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    for key, value in info.items():
        if isinstance(value, dict):
            plain[key] = {k: v for k, v in value.items() if not isinstance(v, np.ndarray)}
            for k, v in value.items():
                if isinstance(v, np.ndarray):
                    arrays[f"{INFO_ARRAY}{key}.{k}"] = v
        else:
            plain[key] = value
    info = plain
    for f in dataclasses.fields(event):
        v = getattr(event, f.name)
        if isinstance(v, np.ndarray):
            arrays[f.name] = v
        else:
            scalars[f.name] = list(v) if isinstance(v, tuple) else v
    buf = io.BytesIO()
    np.savez(buf, _meta=np.array(json.dumps({"info": info, "event": scalars})), **arrays)
    return buf.getvalue()


def event_from_bytes(data: bytes) -> tuple[dict, Event]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        meta = json.loads(str(z["_meta"]))
        arrays = {k: z[k] for k in z.files if k != "_meta"}
    info = meta["info"]
    for name in [k for k in arrays if k.startswith(INFO_ARRAY)]:
        key, sub = name[len(INFO_ARRAY) :].split(".", 1)
        info.setdefault(key, {})[sub] = arrays.pop(name)
    scalars = meta["event"]
    scalars["clip_origin"] = tuple(scalars["clip_origin"])
    return info, Event(**arrays, **scalars)


def _tree_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


class DiskBudget:
    """Bytes used by spill + products against `budget_bytes`; prunes the oldest raw clips first."""

    def __init__(self, budget_bytes: int, products_dir: Path, spill_dir: Path) -> None:
        self.budget_bytes = int(budget_bytes)
        self.products_dir = Path(products_dir)
        self.spill_dir = Path(spill_dir)
        self.pruned_files = 0
        self.pruned_bytes = 0
        self._lock = threading.Lock()

    def used_bytes(self) -> int:
        return _tree_bytes(self.products_dir) + _tree_bytes(self.spill_dir)

    def make_room(self, need_bytes: int) -> bool:
        """Prune oldest raw clips until `need_bytes` more fit; True if they fit."""
        with self._lock:
            used = self.used_bytes()
            if used + need_bytes <= self.budget_bytes:
                return True
            clips = sorted(
                (p for p in self.products_dir.rglob("*") if p.suffix in CLIP_SUFFIXES and p.is_file()),
                key=lambda p: (p.stat().st_mtime, p.name),
            )
            for path in clips:
                try:
                    size = path.stat().st_size
                    path.unlink()
                except FileNotFoundError:
                    continue
                used -= size
                self.pruned_files += 1
                self.pruned_bytes += size
                log.info("disk_budget event=pruned file=%s bytes=%d", path.name, size)
                if used + need_bytes <= self.budget_bytes:
                    return True
            return used + need_bytes <= self.budget_bytes


class EventQueue:
    """FIFO of extractor items in memory, spilling to disk (see the module docstring). Thread-safe."""

    def __init__(self, memory_events: int, spill_dir: Path, budget: DiskBudget) -> None:
        self.memory_events = int(memory_events)
        self.spill_dir = Path(spill_dir)
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        self.budget = budget
        self._mem: deque[tuple[dict, Event]] = deque()
        self._cond = threading.Condition()
        self.spilled_total = 0
        self.refused = 0
        # items left on disk by an earlier run come first (they are the oldest)
        self._spilled: deque[Path] = deque(sorted(self.spill_dir.glob("*.npz")))
        self._seq = int(time.time() * 1e6)

    def __len__(self) -> int:
        with self._cond:
            return len(self._mem) + len(self._spilled)

    @property
    def on_disk(self) -> int:
        with self._cond:
            return len(self._spilled)

    def put(self, info: dict, event: Event) -> bool:
        """Queue one item; False (counted, logged) only when the disk budget cannot hold it."""
        with self._cond:
            if not self._spilled and len(self._mem) < self.memory_events:
                self._mem.append((info, event))
                self._cond.notify()
                return True
            ok = self._spill(info, event)
            self._cond.notify()
            return ok

    def _spill(self, info: dict, event: Event) -> bool:
        data = event_to_bytes(info, event)
        if not self.budget.make_room(len(data)):
            self.refused += 1
            log.error(
                "queue event=refused camera=%s t_unix=%.3f reason=disk budget %d bytes full of reports",
                info.get("camera_id"),
                float(event.t_unix[0]),
                self.budget.budget_bytes,
            )
            return False
        self._seq += 1
        path = self.spill_dir / f"{self._seq:020d}.npz"
        tmp = path.with_suffix(".part")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        self._spilled.append(path)
        self.spilled_total += 1
        return True

    def get(self, timeout_s: float | None = None) -> tuple[dict, Event, Path | None] | None:
        """The oldest item and, if it came from disk, its file (delete it with `done` once processed);
        None after `timeout_s` with nothing queued."""
        with self._cond:
            if not self._mem and not self._spilled:
                self._cond.wait(timeout_s)
            if self._mem:
                info, event = self._mem.popleft()
                return info, event, None
            while self._spilled:
                path = self._spilled.popleft()
                try:
                    info, event = event_from_bytes(path.read_bytes())
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    log.error("queue event=unreadable_spill file=%s reason=%s", path.name, exc)
                    path.rename(path.with_suffix(".bad"))
                    continue
                return info, event, path
            return None

    def done(self, path: Path | None) -> None:
        if path is not None:
            path.unlink(missing_ok=True)

    def spill_all(self) -> int:
        """Write the items still in memory to disk (clean stop): the next start processes them first."""
        with self._cond:
            items = list(self._mem)
            self._mem.clear()
            # they are older than anything already spilled: give them earlier names
            first = int(self._spilled[0].stem) if self._spilled else self._seq + 1
            for k, (info, event) in enumerate(items):
                path = self.spill_dir / f"{first - len(items) + k:020d}.npz"
                tmp = path.with_suffix(".part")
                tmp.write_bytes(event_to_bytes(info, event))
                os.replace(tmp, path)
            return len(items)
