"""The bridge pages' plots, drawn on the server with matplotlib as SVG text (no tiles, no CDN).

Inputs are plain numbers that `cloud_bridge.web.views` reads from the store: station places and
states, per-frame magnitudes, a trajectory's ground track and per-frame heights, radiants. The map
is an equirectangular lat/lon grid (longitudes shrunk by the cosine of the mean latitude) with no
coastlines, which is enough to place stations and tracks against each other offline. Each
function returns a complete `<svg>` document; `error_svg` stands in for a plot that cannot be made.
"""

from __future__ import annotations

import io
import itertools
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display on a server

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

_LOCK = threading.Lock()  # matplotlib's rcParams are global: render one figure at a time
_SALT = itertools.count()

STATE_COLOURS = {
    "online": "#2e9e5b",
    "degraded": "#d9a520",
    "day-idle": "#4f7ac7",
    "offline": "#c8463d",
}
UNKNOWN_COLOUR = "#8a8f99"
SPORADIC_COLOUR = "#9aa0aa"
SHOWER_PALETTE = [
    "#d62728",
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
]


def shower_colour(code: str | None, codes: Sequence[str]) -> str:
    """A colour per shower code, stable within one plot (`codes` sorted); grey for sporadics."""
    if not code:
        return SPORADIC_COLOUR
    return SHOWER_PALETTE[list(codes).index(code) % len(SHOWER_PALETTE)] if code in codes else SPORADIC_COLOUR


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    # text stays text (smaller, searchable); a salt per figure keeps ids unique when several SVGs
    # are inlined in one page
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"skytrail-{next(_SALT)}"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    # no XML prolog, so that the SVG can be inlined in HTML; links open in the same tab, with the
    # SVG 2 `href` that HTML pages follow
    text = text[text.index("<svg") :].replace(' target="_blank"', "")
    return text.replace("<a xlink:href=", "<a href=")


def _figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), dpi=100)
    fig.patch.set_alpha(0.0)
    return fig


def _style(ax) -> None:
    ax.grid(True, color="#c9ced6", linewidth=0.5, alpha=0.7)
    ax.set_facecolor("#fbfcfd")


def error_svg(message: str, width_px: int = 420, height_px: int = 80) -> str:
    """A small SVG saying why a plot is missing (escaped text, no matplotlib needed)."""
    from html import escape

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_px}" height="{height_px}" '
        f'viewBox="0 0 {width_px} {height_px}" role="img" aria-label="plot unavailable">'
        f'<rect width="100%" height="100%" fill="#f3f4f6" stroke="#c9ced6"/>'
        f'<text x="10" y="{height_px // 2}" font-family="sans-serif" font-size="13" fill="#555">'
        f"{escape(message[:200])}</text></svg>"
    )


def _lon_scale(lats: Iterable[float]) -> float:
    lats = [v for v in lats if v is not None and math.isfinite(v)]
    return max(0.2, math.cos(math.radians(float(np.mean(lats))))) if lats else 1.0


@dataclass
class StationMark:
    station_id: str
    lat_deg: float
    lon_deg: float
    state: str | None
    url: str | None = None


def station_map_svg(stations: Sequence[StationMark], *, pad_deg: float = 0.5) -> str:
    """Stations on a lat/lon grid, coloured by state, each marker linking to `url` (SVG links)."""
    placed = [s for s in stations if s.lat_deg is not None and s.lon_deg is not None]
    if not placed:
        return error_svg("No station has reported its position yet.")
    with _LOCK:
        fig = _figure(7.5, 5.0)
        ax = fig.add_subplot()
        _style(ax)
        for s in placed:
            colour = STATE_COLOURS.get(s.state or "", UNKNOWN_COLOUR)
            mark = ax.scatter([s.lon_deg], [s.lat_deg], s=90, color=colour, edgecolor="#222", zorder=3)
            if s.url:
                mark.set_urls([s.url])
            label = ax.annotate(
                f"{s.station_id} ({s.state or 'unknown'})",
                (s.lon_deg, s.lat_deg),
                xytext=(7, 5),
                textcoords="offset points",
                fontsize=9,
            )
            if s.url:
                label.set_url(s.url)
        lats = [s.lat_deg for s in placed]
        lons = [s.lon_deg for s in placed]
        ax.set_xlim(min(lons) - pad_deg, max(lons) + pad_deg)
        ax.set_ylim(min(lats) - pad_deg, max(lats) + pad_deg)
        ax.set_aspect(1.0 / _lon_scale(lats))
        ax.set_xlabel("longitude (deg east)")
        ax.set_ylabel("latitude (deg north)")
        handles = [
            ax.scatter([], [], color=c, edgecolor="#222", label=name) for name, c in STATE_COLOURS.items()
        ]
        ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.8)
        return _svg(fig)


@dataclass
class Series:
    label: str
    x: np.ndarray
    y: np.ndarray


def light_curve_svg(series: Sequence[Series], *, small: bool = False) -> str:
    """Apparent magnitude against time (seconds after the event's first frame), one line per camera."""
    series = [s for s in series if len(s.x) and np.isfinite(s.y).any()]
    if not series:
        return error_svg("No magnitudes measured for this event.", 320 if small else 420)
    with _LOCK:
        fig = _figure(3.6, 2.2) if small else _figure(6.5, 3.6)
        ax = fig.add_subplot()
        _style(ax)
        for s in series:
            ok = np.isfinite(s.y)
            ax.plot(s.x[ok], s.y[ok], marker="o", markersize=3, linewidth=1.2, label=s.label)
        ax.invert_yaxis()  # brighter is up
        ax.set_xlabel("time after first frame (s)", fontsize=8 if small else 10)
        ax.set_ylabel("magnitude", fontsize=8 if small else 10)
        ax.tick_params(labelsize=7 if small else 9)
        ax.legend(fontsize=6 if small else 8)
        return _svg(fig)


@dataclass
class Track:
    begin_lat_deg: float
    begin_lon_deg: float
    end_lat_deg: float
    end_lon_deg: float
    begin_height_m: float
    end_height_m: float
    label: str = ""


def track_map_svg(tracks: Sequence[Track], stations: Sequence[StationMark], *, pad_deg: float = 0.3) -> str:
    """The trajectories' ground tracks (begin to end, with heights) and the stations that saw them."""
    if not tracks:
        return error_svg("No trajectory solved.")
    with _LOCK:
        fig = _figure(6.5, 4.8)
        ax = fig.add_subplot()
        _style(ax)
        for s in stations:
            ax.scatter(
                [s.lon_deg], [s.lat_deg], marker="^", s=70, color="#4f7ac7", edgecolor="#222", zorder=3
            )
            ax.annotate(
                s.station_id, (s.lon_deg, s.lat_deg), xytext=(6, -12), textcoords="offset points", fontsize=9
            )
        for t in tracks:
            ax.annotate(
                "",
                xy=(t.end_lon_deg, t.end_lat_deg),
                xytext=(t.begin_lon_deg, t.begin_lat_deg),
                arrowprops={"arrowstyle": "-|>", "color": "#d62728", "linewidth": 2.2},
            )
            ax.annotate(
                f"{t.begin_height_m / 1e3:.1f} km",
                (t.begin_lon_deg, t.begin_lat_deg),
                xytext=(6, 6),
                textcoords="offset points",
                fontsize=9,
                color="#d62728",
            )
            ax.annotate(
                f"{t.end_height_m / 1e3:.1f} km",
                (t.end_lon_deg, t.end_lat_deg),
                xytext=(6, -14),
                textcoords="offset points",
                fontsize=9,
                color="#d62728",
            )
        lats = [v for t in tracks for v in (t.begin_lat_deg, t.end_lat_deg)] + [s.lat_deg for s in stations]
        lons = [v for t in tracks for v in (t.begin_lon_deg, t.end_lon_deg)] + [s.lon_deg for s in stations]
        ax.set_xlim(min(lons) - pad_deg, max(lons) + pad_deg)
        ax.set_ylim(min(lats) - pad_deg, max(lats) + pad_deg)
        ax.set_aspect(1.0 / _lon_scale(lats))
        ax.set_xlabel("longitude (deg east)")
        ax.set_ylabel("latitude (deg north)")
        ax.set_title("ground track (arrow: direction of flight)", fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        return _svg(fig)


def height_time_svg(series: Sequence[Series], fitted: Series | None = None) -> str:
    """Height (km) against time (s after the trajectory's begin), per station, and the fitted line."""
    series = [s for s in series if len(s.x)]
    if not series and fitted is None:
        return error_svg("No heights: no trajectory solved.")
    with _LOCK:
        fig = _figure(6.5, 4.0)
        ax = fig.add_subplot()
        _style(ax)
        if fitted is not None:
            ax.plot(fitted.x, fitted.y, color="#333", linewidth=1, linestyle="--", label=fitted.label)
        for s in series:
            ax.plot(s.x, s.y, marker="o", markersize=3, linestyle="none", label=s.label)
        ax.set_xlabel("time after begin (s)")
        ax.set_ylabel("height (km)")
        ax.legend(fontsize=8)
        return _svg(fig)


@dataclass
class Radiant:
    ra_deg: float
    dec_deg: float
    shower_code: str | None
    highlight: bool = False
    url: str | None = None


def radiant_svg(radiants: Sequence[Radiant], *, title: str = "geocentric radiants (J2000)") -> str:
    """Radiants on the sky (Mollweide projection of RA/Dec, RA growing to the left as seen from
    inside the sphere), coloured by shower; highlighted radiants drawn larger with a black ring."""
    if not radiants:
        return error_svg("No orbits solved yet.")
    codes = sorted({r.shower_code for r in radiants if r.shower_code})
    with _LOCK:
        fig = _figure(8.0, 4.6)
        ax = fig.add_subplot(projection="mollweide")
        ax.grid(True, color="#c9ced6", linewidth=0.5)
        ax.set_facecolor("#fbfcfd")

        def x_of(ra_deg: float) -> float:  # RA 0 at the centre, increasing to the left
            return -math.radians(((ra_deg + 180.0) % 360.0) - 180.0)

        for code in [*codes, None]:
            group = [r for r in radiants if r.shower_code == code]
            if not group:
                continue
            colour = shower_colour(code, codes)
            for r in group:
                big = r.highlight
                mark = ax.scatter(
                    [x_of(r.ra_deg)],
                    [math.radians(r.dec_deg)],
                    s=80 if big else 22,
                    color=colour,
                    edgecolor="#000" if big else "none",
                    linewidth=1.5 if big else 0,
                    zorder=4 if big else 3,
                )
                if r.url:
                    mark.set_urls([r.url])
            ax.scatter([], [], color=colour, label=f"{code or 'sporadic'} ({len(group)})")
        ticks = [150, 120, 90, 60, 30, 0, -30, -60, -90, -120, -150]
        ax.set_xticks([math.radians(t) for t in ticks])
        ax.set_xticklabels([f"{(-t) % 360:.0f}°" for t in ticks], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(title, fontsize=10)
        ax.legend(loc="lower right", fontsize=7, bbox_to_anchor=(1.12, -0.05))
        return _svg(fig)
