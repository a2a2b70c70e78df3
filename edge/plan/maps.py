"""Coverage maps: a PNG (Pillow) and an SVG of a network's coverage on the meteor layer.

Input: a `Coverage` (edge.plan.coverage). The map is in the grid's azimuthal-equidistant projection
about the network centre (north up, km scale): cells coloured by how many stations see them and
whether a pair triangulates them, each camera's footprint outlined, stations marked. The SVG is
plain text (the bridge's web pages can inline it); the PNG needs only Pillow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.plan.coverage import Coverage, _project, footprint_outline

# RGB colours: not seen, seen by one station, by two or more without a usable angle, triangulable
COLOURS = {
    "none": (255, 255, 255),
    "one": (198, 219, 239),
    "two_poor": (200, 200, 200),
    "triangulable": (253, 174, 97),
}
CAMERA_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]


def class_image(cov: Coverage) -> np.ndarray:
    """(rows, cols, 3) uint8 image of the coverage classes (row 0 is north)."""
    img = np.empty((*cov.grid.shape, 3), np.uint8)
    img[:] = COLOURS["none"]
    img[cov.n_seen == 1] = COLOURS["one"]
    img[(cov.n_seen >= 2) & ~cov.triangulable] = COLOURS["two_poor"]
    img[cov.triangulable] = COLOURS["triangulable"]
    return img


def _outlines(cov: Coverage):
    """Per station: (station_id, (x_km, y_km), [camera outlines as (x_km, y_km) arrays])."""
    g = cov.grid
    out = []
    for v in cov.views:
        s = v.station
        sx, sy = _project(g.centre_lat_deg, g.centre_lon_deg, s.lat_deg, s.lon_deg)
        cams = []
        for c in s.cameras:
            lat, lon = footprint_outline(s, c, height_km=g.height_km)
            cams.append(_project(g.centre_lat_deg, g.centre_lon_deg, lat, lon))
        out.append((s.station_id, (float(sx), float(sy)), cams))
    return out


def write_png(cov: Coverage, path: Path, *, px_per_cell: int = 4, title: str | None = None) -> Path:
    """Write the coverage map as a PNG; returns the path."""
    from PIL import Image, ImageDraw

    g = cov.grid
    rows, cols = g.shape
    img = Image.fromarray(class_image(cov)).resize((cols * px_per_cell, rows * px_per_cell), Image.NEAREST)
    draw = ImageDraw.Draw(img)
    half = g.cell_km * cols / 2.0
    scale = px_per_cell / g.cell_km  # px per km

    def to_px(x, y):
        return (np.asarray(x) + half) * scale, (half - np.asarray(y)) * scale

    for sid, (sx, sy), cams in _outlines(cov):
        for j, (x, y) in enumerate(cams):
            px, py = to_px(x, y)
            pts = list(zip(px.tolist(), py.tolist(), strict=True))
            draw.line(pts + pts[:1], fill=CAMERA_COLOURS[j % len(CAMERA_COLOURS)], width=2)
        px, py = to_px(sx, sy)
        draw.ellipse([px - 5, py - 5, px + 5, py + 5], fill=(0, 0, 0))
        draw.text((px + 7, py - 7), sid, fill=(0, 0, 0))
    # 100 km scale bar and legend
    y0 = img.height - 20
    draw.line([(20, y0), (20 + 100 * scale, y0)], fill=(0, 0, 0), width=3)
    draw.text((20, y0 - 14), "100 km", fill=(0, 0, 0))
    s = cov.summary()
    lines = [
        title or f"coverage at {g.height_km:g} km",
        f"union {s['union_area_km2']:,} km2",
        f"triangulable (>= {cov.min_convergence_deg:g} deg) {s['triangulable_area_km2']:,} km2",
    ]
    for i, text in enumerate(lines):
        draw.text((10, 8 + 14 * i), text, fill=(0, 0, 0))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def svg_text(cov: Coverage, *, title: str | None = None) -> str:
    """The coverage map as an SVG document (coordinates in km, north up)."""
    g = cov.grid
    rows, cols = g.shape
    half = g.cell_km * cols / 2.0
    c = g.cell_km
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="{-half:.1f} {-half:.1f} {2 * half:.1f} {2 * half:.1f}" '
        f'width="800" height="800" font-family="sans-serif">',
        f"<title>{title or 'Skytrail network coverage'}</title>",
        f'<rect x="{-half:.1f}" y="{-half:.1f}" width="{2 * half:.1f}" height="{2 * half:.1f}" '
        'fill="white"/>',
    ]
    classes = (
        ("one", cov.n_seen == 1),
        ("two_poor", (cov.n_seen >= 2) & ~cov.triangulable),
        ("triangulable", cov.triangulable),
    )
    for name, mask in classes:
        rgb = "#{:02x}{:02x}{:02x}".format(*COLOURS[name])
        rects = []
        for r in range(rows):  # run-length rows of cells: a few hundred rectangles, not thousands
            row = np.concatenate([[False], mask[r], [False]]).astype(np.int8)
            d = np.diff(row)
            for a, b in zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0], strict=True):
                x = -half + a * c
                y = -half + r * c
                rects.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{(b - a) * c:.1f}" height="{c:.1f}"/>')
        parts.append(f'<g class="{name}" fill="{rgb}" stroke="none">{"".join(rects)}</g>')
    for sid, (sx, sy), cams in _outlines(cov):
        for j, (x, y) in enumerate(cams):
            pts = " ".join(f"{a:.1f},{-b:.1f}" for a, b in zip(x, y, strict=True))
            colour = CAMERA_COLOURS[j % len(CAMERA_COLOURS)]
            parts.append(f'<polygon points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<circle cx="{sx:.1f}" cy="{-sy:.1f}" r="5" fill="black"/>')
        parts.append(f'<text x="{sx + 7:.1f}" y="{-sy - 7:.1f}" font-size="16">{sid}</text>')
    s = cov.summary()
    parts.append(
        f'<text x="{-half + 10:.1f}" y="{-half + 24:.1f}" font-size="18">{title or "coverage"} at '
        f"{g.height_km:g} km: union {s['union_area_km2']:,} km2, "
        f"triangulable {s['triangulable_area_km2']:,} km2"
        "</text>"
    )
    parts.append(
        f'<line x1="{-half + 10:.1f}" y1="{half - 15:.1f}" x2="{-half + 110:.1f}" y2="{half - 15:.1f}" '
        'stroke="black" stroke-width="3"/>'
        f'<text x="{-half + 10:.1f}" y="{half - 22:.1f}" font-size="14">100 km</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_svg(cov: Coverage, path: Path, *, title: str | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg_text(cov, title=title))
    return path
