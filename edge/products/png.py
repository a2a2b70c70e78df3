"""The event's PNG: the max-pixel frame with the calibration stars and the meteor's track labelled.

Inputs come from `edge.process`: the detector's full-frame max image, the matched stars' pixel
positions (and HIP numbers) from the calibration, and the meteor's per-frame centroids. Drawn with
Pillow; `read_png` gives back the pixel array and the text metadata written with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, PngImagePlugin

STAR_COLOUR = (80, 220, 80)
METEOR_COLOUR = (255, 60, 60)


def render_overview(
    max_frame: np.ndarray,
    star_x_px,
    star_y_px,
    meteor_x_px,
    meteor_y_px,
    *,
    star_labels: list[str] | None = None,
    max_star_labels: int = 20,
    title: str | None = None,
) -> np.ndarray:
    """(H, W, 3) uint8 picture: the max frame, stars circled (the first `max_star_labels` labelled)
    and the meteor's track drawn from its first to its last centroid, its first point labelled."""
    img = np.asarray(max_frame)
    if img.ndim != 2:
        raise ValueError(f"max_frame: expected a (H, W) image, got shape {img.shape}")
    gray = np.clip(img, 0, 255).astype(np.uint8)
    picture = Image.fromarray(np.stack([gray] * 3, axis=-1), "RGB")
    draw = ImageDraw.Draw(picture)
    h, w = gray.shape
    r = max(3, round(min(h, w) / 120))
    sx, sy = np.asarray(star_x_px, float), np.asarray(star_y_px, float)
    for i, (x, y) in enumerate(zip(sx, sy, strict=True)):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        draw.ellipse([x - r, y - r, x + r, y + r], outline=STAR_COLOUR)
        if star_labels is not None and i < max_star_labels:
            draw.text((x + r + 1, y - r), star_labels[i], fill=STAR_COLOUR)
    mx, my = np.asarray(meteor_x_px, float), np.asarray(meteor_y_px, float)
    ok = np.isfinite(mx) & np.isfinite(my)
    if ok.sum() >= 2:
        draw.line(list(zip(mx[ok].tolist(), my[ok].tolist(), strict=True)), fill=METEOR_COLOUR, width=1)
    if ok.any():
        x0, y0 = float(mx[ok][0]), float(my[ok][0])
        draw.ellipse([x0 - 2, y0 - 2, x0 + 2, y0 + 2], outline=METEOR_COLOUR)
        draw.text((x0 + 4, y0 + 2), "meteor", fill=METEOR_COLOUR)
    if title:
        draw.text((4, 4), title, fill=(255, 255, 255))
    return np.asarray(picture)


def write_png(path: str | Path, picture: np.ndarray, metadata: dict[str, str] | None = None) -> Path:
    """Write an (H, W, 3) uint8 picture with text metadata (atomically)."""
    path = Path(path)
    info = PngImagePlugin.PngInfo()
    for key, value in (metadata or {}).items():
        info.add_text(str(key), str(value))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    Image.fromarray(np.asarray(picture, np.uint8), "RGB").save(tmp, format="PNG", pnginfo=info)
    tmp.replace(path)
    return path


def read_png(path: str | Path) -> tuple[np.ndarray, dict[str, str]]:
    """(picture, text metadata) of a PNG written by `write_png`; ValueError if unreadable."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("RGB")), dict(getattr(im, "text", {}))
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"{path}: not a readable PNG ({exc})") from exc
