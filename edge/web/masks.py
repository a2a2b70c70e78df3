"""Sky masks drawn on the local page: polygons in frame pixels -> `<data_dir>/masks/<camera_id>.png`.

The mask editor (static/mask_editor.js) sends the polygons the user drew on the camera's latest
frame (`state/cameras/<camera_id>/latest.png`, the contract in `edge.station.snapshot`). They mark
either the areas to ignore (trees, roofs, street lights) on an otherwise all-sky frame, or the sky
itself on an otherwise ignored frame. The mask is written as an 8-bit PNG of the frame's size,
white (255) = sky, black (0) = ignored, which the camera process reads when it starts. The
polygons are kept beside it in `masks/<camera_id>.polygons.json` so that the editor can show them
again; the PNG alone is what the station uses.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_POLYGONS = 200
MAX_VERTICES = 5000
SKY, IGNORED = 255, 0

Point = Annotated[list[float], Field(min_length=2, max_length=2)]


class MaskRequest(BaseModel):
    """What the editor sends: the frame size it drew on and the polygons, in frame pixels
    (x right, y down; the frame's top-left corner is (0, 0), its bottom-right (width_px, height_px))."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    width_px: int = Field(gt=0, le=20000)
    height_px: int = Field(gt=0, le=20000)
    polygons_mark: Literal["ignored", "sky"] = Field(
        "ignored", description="what the polygons enclose: areas to ignore, or the sky"
    )
    polygons: list[Annotated[list[Point], Field(min_length=3, max_length=MAX_VERTICES)]] = Field(
        default_factory=list, max_length=MAX_POLYGONS
    )

    @model_validator(mode="after")
    def _inside_frame(self) -> MaskRequest:
        for i, polygon in enumerate(self.polygons):
            for j, (x, y) in enumerate(polygon):
                if not (0 <= x <= self.width_px and 0 <= y <= self.height_px):
                    raise ValueError(
                        f"polygons[{i}][{j}] = ({x:g}, {y:g}) lies outside the "
                        f"{self.width_px}x{self.height_px} frame"
                    )
            if _area_px2(polygon) < 1.0:
                raise ValueError(f"polygons[{i}] encloses no area (its points lie on a line)")
        return self


def _area_px2(polygon: list[list[float]]) -> float:
    """Unsigned area of a polygon (shoelace formula), square pixels."""
    total = 0.0
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        total += x0 * y1 - x1 * y0
    return abs(total) / 2.0


def mask_path(data_dir: Path, camera_id: str) -> Path:
    return Path(data_dir) / "masks" / f"{camera_id}.png"


def polygons_path(data_dir: Path, camera_id: str) -> Path:
    return Path(data_dir) / "masks" / f"{camera_id}.polygons.json"


def rasterise(request: MaskRequest) -> np.ndarray:
    """The (height, width) uint8 mask the polygons describe: 255 sky, 0 ignored."""
    inside, outside = (IGNORED, SKY) if request.polygons_mark == "ignored" else (SKY, IGNORED)
    image = Image.new("L", (request.width_px, request.height_px), outside)
    draw = ImageDraw.Draw(image)
    for polygon in request.polygons:
        draw.polygon([(x, y) for x, y in polygon], fill=inside, outline=inside)
    return np.asarray(image)


def _write_atomic(path: Path, data: bytes) -> None:
    # the camera process may read the mask at any moment: it must never see half a file
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_mask(data_dir: Path, camera_id: str, request: MaskRequest) -> dict:
    """Write the camera's mask PNG and its polygons; returns what was written (path, sky fraction)."""
    mask = rasterise(request)
    folder = Path(data_dir) / "masks"
    folder.mkdir(parents=True, exist_ok=True)
    png = mask_path(data_dir, camera_id)
    tmp = png.with_name(png.name + ".part")
    Image.fromarray(mask, "L").save(tmp, format="PNG")
    os.replace(tmp, png)
    record = request.model_dump() | {"saved_utc": datetime.now(UTC).isoformat()}
    _write_atomic(polygons_path(data_dir, camera_id), json.dumps(record).encode())
    sky_fraction = float(np.count_nonzero(mask == SKY)) / mask.size
    return {
        "camera_id": camera_id,
        "path": str(png),
        "width_px": request.width_px,
        "height_px": request.height_px,
        "n_polygons": len(request.polygons),
        "sky_fraction": round(sky_fraction, 6) if math.isfinite(sky_fraction) else None,
    }


def load_polygons(data_dir: Path, camera_id: str) -> dict | None:
    """The polygons last saved from the editor, or None when there are none (or they are unreadable:
    the PNG, not this file, is what counts)."""
    try:
        record = json.loads(polygons_path(data_dir, camera_id).read_text())
        return MaskRequest.model_validate({k: v for k, v in record.items() if k != "saved_utc"}).model_dump()
    except (OSError, ValueError):
        return None


def remove_mask(data_dir: Path, camera_id: str) -> bool:
    """Delete the camera's mask (the whole frame is then sky); False if it had none."""
    removed = False
    for path in (mask_path(data_dir, camera_id), polygons_path(data_dir, camera_id)):
        try:
            path.unlink()
            removed = True
        except FileNotFoundError:
            pass
    return removed
