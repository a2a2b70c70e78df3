"""The event's PNG: the max-pixel frame with the calibration stars and the meteor's track labelled,
and, when given, the classifier's saliency and verdict beside the ADS-B aircraft match.

Inputs come from `edge.process`: the detector's full-frame max image, the matched stars' pixel
positions (and HIP numbers) from the calibration, and the meteor's per-frame centroids; optionally
the classifier's result for the event (`edge.classify.runtime.Classifier.classify_event`: the
`Classification`, the fused Grad-CAM x first-conv saliency map and the crop that places it in the
frame) and the ADS-B match (`edge.protocol.models.AircraftMatch`, from `edge.adsb.match`). The
saliency is drawn as a translucent overlay over the crop around the track (opacity growing with the
saliency above `SALIENCY_SHOWN_FROM`) with the meteor's most probable pixel
marked; a caption band under the frame gives the classifier's verdict (left) and the aircraft match
(right) side by side. Drawn with Pillow; `read_png` gives back the pixel array and the
text metadata written with it (`overview_metadata` makes the machine-readable part of that).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from edge.protocol.models import AircraftMatch, Classification, ClassLabel

STAR_COLOUR = (80, 220, 80)
METEOR_COLOUR = (255, 60, 60)
SALIENCY_COLOUR = (255, 190, 0)  # the overlay: amber, opacity proportional to the saliency
SALIENCY_MAX_ALPHA = 0.6
SALIENCY_SHOWN_FROM = 0.25  # saliency below this is left out, so the background's texture does not show
PEAK_COLOUR = (0, 230, 255)  # the classifier's meteor pixel
CAPTION_BG = (24, 24, 24)
CAPTION_TEXT = (235, 235, 235)
AIRCRAFT_COLOUR = (255, 170, 60)


class CropPlacement(Protocol):
    """Where a classifier crop lies in the frame (`edge.classify.preprocess.Crop` has these)."""

    x0_px: int
    y0_px: int
    scale: int


class ClassifierResult(Protocol):
    """What the PNG reads of a classifier result (`edge.classify.runtime.Result` has these)."""

    classification: Classification
    fused: np.ndarray | None
    crop: CropPlacement | None


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
    classification: ClassifierResult | Classification | None = None,
    aircraft: AircraftMatch | None = None,
    adsb_note: str | None = None,
) -> np.ndarray:
    """(H, W, 3) uint8 picture: the max frame, stars circled (the first `max_star_labels` labelled)
    and the meteor's track drawn from its first to its last centroid, its first point labelled.

    With `classification` (a `Classifier.classify_event` result, or a bare `Classification`) or
    `aircraft` (an ADS-B `AircraftMatch`), the picture also shows: the saliency map as a translucent
    overlay over the classifier's crop (when the result carries one), the meteor pixel as a cross,
    and a caption band below the frame (the picture is then taller than the frame) with the verdict
    on the left and the aircraft match on the right. `adsb_note` says why there is no match
    (e.g. "no receiver"); without it a missing match reads "no aircraft matched"."""
    img = np.asarray(max_frame)
    if img.ndim != 2:
        raise ValueError(f"max_frame: expected a (H, W) image, got shape {img.shape}")
    gray = np.clip(img, 0, 255).astype(np.uint8)
    rgb = np.stack([gray] * 3, axis=-1)
    result = classification if hasattr(classification, "classification") else None
    verdict: Classification | None = result.classification if result is not None else classification
    if verdict is not None and not isinstance(verdict, Classification):
        raise TypeError(f"classification: expected a Classification or a classifier result, got "
                        f"{type(classification).__name__}")  # fmt: skip
    if aircraft is not None and not isinstance(aircraft, AircraftMatch):
        raise TypeError(f"aircraft: expected an AircraftMatch, got {type(aircraft).__name__}")
    if result is not None and result.fused is not None and result.crop is not None:
        rgb = _overlay_saliency(rgb, result.fused, result.crop)
    picture = Image.fromarray(rgb, "RGB")
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
    if verdict is not None and verdict.peak_pixel is not None:
        px, py = verdict.peak_pixel.x_px, verdict.peak_pixel.y_px
        arm = r + 2
        draw.line([px - arm, py, px - 2, py], fill=PEAK_COLOUR)
        draw.line([px + 2, py, px + arm, py], fill=PEAK_COLOUR)
        draw.line([px, py - arm, px, py - 2], fill=PEAK_COLOUR)
        draw.line([px, py + 2, px, py + arm], fill=PEAK_COLOUR)
    if title:
        draw.text((4, 4), title, fill=(255, 255, 255))
    if verdict is None and aircraft is None:
        return np.asarray(picture)
    return np.asarray(
        _with_caption(picture, caption_lines(verdict, aircraft, adsb_note), aircraft is not None)
    )


def _overlay_saliency(rgb: np.ndarray, fused: np.ndarray, crop: CropPlacement) -> np.ndarray:
    """Blend the saliency map (crop pixels, 0..1) over the frame pixels its crop covers."""
    sal = np.asarray(fused, np.float32)
    if sal.ndim != 2 or sal.shape[0] != sal.shape[1]:
        raise ValueError(f"saliency map: expected a square (N, N) map, got shape {sal.shape}")
    scale = int(crop.scale)
    if scale < 1:
        raise ValueError(f"crop scale must be >= 1, got {scale}")
    side = sal.shape[0] * scale
    # bilinear, so a coarse map over a long track does not show as blocks
    big = np.asarray(Image.fromarray(np.clip(sal, 0.0, 1.0)).resize((side, side), Image.BILINEAR))
    h, w = rgb.shape[:2]
    x0, y0 = int(crop.x0_px), int(crop.y0_px)
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    if fx0 >= fx1 or fy0 >= fy1:
        return rgb
    shown = np.clip((big - SALIENCY_SHOWN_FROM) / (1.0 - SALIENCY_SHOWN_FROM), 0.0, 1.0)
    alpha = SALIENCY_MAX_ALPHA * shown[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0, None]
    out = rgb.astype(np.float32)
    region = out[fy0:fy1, fx0:fx1]
    out[fy0:fy1, fx0:fx1] = (1.0 - alpha) * region + alpha * np.asarray(SALIENCY_COLOUR, np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def caption_lines(
    verdict: Classification | None, aircraft: AircraftMatch | None, adsb_note: str | None = None
) -> tuple[list[str], list[str]]:
    """The caption's two columns: (classifier lines, ADS-B lines)."""
    left: list[str] = []
    if verdict is None:
        left.append("classifier: not run")
    elif verdict.label == ClassLabel.UNCLASSIFIED:
        left += ["classifier: unclassified", f"reason: {verdict.reason}"]
    else:
        left.append(f"classifier: {verdict.label.value} {verdict.score:.2f}")
        detail = []
        if verdict.peak_pixel is not None:
            detail.append(f"pixel ({verdict.peak_pixel.x_px:.0f}, {verdict.peak_pixel.y_px:.0f})")
        if verdict.model_version:
            detail.append(f"model {verdict.model_version}")
        if detail:
            left.append("  ".join(detail))
    if aircraft is not None:
        name = f"{aircraft.callsign} ({aircraft.icao24})" if aircraft.callsign else aircraft.icao24
        right = [
            f"ADS-B: aircraft {name}",
            f"{aircraft.distance_m / 1000.0:.1f} km, residual {aircraft.residual_deg:.2f} deg",
        ]
    else:
        right = [f"ADS-B: {adsb_note or 'no aircraft matched'}"]
    return left, right


def _font(size_px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size_px)
    except (TypeError, ImportError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _with_caption(picture: Image.Image, columns: tuple[list[str], list[str]], matched: bool) -> Image.Image:
    """The picture with a caption band below it: two columns of text side by side."""
    w, h = picture.size
    size = max(10, round(w / 60))
    font = _font(size)
    rows = max(len(columns[0]), len(columns[1]))
    line_h = size + max(2, size // 4)
    band = rows * line_h + 2 * max(3, size // 3)
    out = Image.new("RGB", (w, h + band), CAPTION_BG)
    out.paste(picture, (0, 0))
    draw = ImageDraw.Draw(out)
    pad = max(3, size // 3)
    for col, (lines, x) in enumerate(zip(columns, (pad, w // 2 + pad), strict=True)):
        colour = AIRCRAFT_COLOUR if col == 1 and matched else CAPTION_TEXT
        for i, text in enumerate(lines):
            draw.text(
                (x, h + pad + i * line_h), _fit(draw, text, font, w // 2 - 2 * pad), fill=colour, font=font
            )
    draw.line([w // 2, h + 2, w // 2, h + band - 3], fill=(90, 90, 90))
    return out


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width_px: int) -> str:
    """The text, shortened with an ellipsis to fit in width_px."""
    if draw.textlength(text, font=font) <= width_px:
        return text
    while text and draw.textlength(text + "...", font=font) > width_px:
        text = text[:-1]
    return text + "..."


def overview_metadata(
    classification: ClassifierResult | Classification | None = None, aircraft: AircraftMatch | None = None
) -> dict[str, str]:
    """PNG text entries for the verdict and the match (JSON of the wire-contract objects), to pass
    to `write_png` with the others; empty for what is not given."""
    verdict = getattr(classification, "classification", classification)
    meta = {}
    if verdict is not None:
        meta["classification"] = json.dumps(verdict.model_dump(mode="json", exclude_none=True))
    if aircraft is not None:
        meta["aircraft"] = json.dumps(aircraft.model_dump(mode="json", exclude_none=True))
    return meta


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
