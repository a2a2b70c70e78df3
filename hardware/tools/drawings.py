"""Wiring drawings as SVG, generated from the connection lists in this file (the source of truth).

    python hardware/tools/drawings.py            # rewrite hardware/drawings/*.svg
    python hardware/tools/drawings.py --check    # exit 1 if a drawing is not what this file gives

No dependency beyond the standard library. Each drawing is a list of boxes and labelled wires;
`svg()` lays them out. Pin numbers are the Raspberry Pi 5 40-pin header's physical numbers.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

OUT_DIR = Path(__file__).resolve().parent.parent / "drawings"


@dataclass(frozen=True)
class Box:
    key: str
    title: str
    lines: tuple[str, ...]
    x: float
    y: float
    w: float = 220.0
    h: float = 0.0  # 0: from the number of lines

    @property
    def height(self) -> float:
        return self.h or 34.0 + 18.0 * len(self.lines)


@dataclass(frozen=True)
class Wire:
    a: str
    b: str
    label: str
    colour: str = "#333333"
    a_row: int = 0  # which text row of box a the wire leaves from (0: box middle)
    b_row: int = 0
    dashed: bool = False


# --------------------------------------------------------------------------- GPS PPS to the Pi 5
PI5_GPS = (
    "Raspberry Pi 5: GPS with PPS on the GPIO header",
    [
        Box(
            "gps",
            "GPS module (u-blox M8/M10)",
            ("VCC (3.3 V)", "GND", "TX (NMEA/UBX out)", "RX (config in)", "PPS (1 pulse/s, 3.3 V)"),
            40,
            70,
            w=240,
        ),
        Box(
            "pi",
            "Raspberry Pi 5 header",
            (
                "pin 1: 3V3",
                "pin 6: GND",
                "pin 10: GPIO15 / UART0 RXD",
                "pin 8: GPIO14 / UART0 TXD",
                "pin 12: GPIO18 (PPS in)",
            ),
            560,
            70,
            w=260,
        ),
        Box("ant", "Active GPS antenna", ("SMA/u.FL, 3.3 V bias", "clear view of the sky"), 40, 300),
        Box(
            "cfg",
            "/boot/firmware/config.txt",
            ("dtparam=uart0=on", "dtoverlay=pps-gpio,gpiopin=18", "-> /dev/ttyAMA0 and /dev/pps0"),
            560,
            300,
            w=260,
        ),
    ],
    [
        Wire("gps", "pi", "3.3 V", "#d62728", 1, 1),
        Wire("gps", "pi", "ground", "#000000", 2, 2),
        Wire("gps", "pi", "NMEA 9600/38400 baud", "#1f77b4", 3, 3),
        Wire("gps", "pi", "config (optional)", "#17becf", 4, 4),
        Wire("gps", "pi", "PPS, rising edge = UTC second", "#ff7f0e", 5, 5),
        Wire("ant", "gps", "coax", "#7f7f7f", 0, 0),
    ],
)

# --------------------------------------------------------------------------- USB GPS on the PC
PC_GPS = (
    "x86 PC: USB GPS with PPS on DCD",
    [
        Box("gps", "USB GPS receiver", ("u-blox + FTDI USB serial", "NMEA on RXD", "PPS on DCD"), 40, 70),
        Box(
            "pc",
            "Mini PC",
            ("/dev/ttyUSB0 (gpsd)", "ldattach PPS /dev/ttyUSB0", "-> /dev/pps0 (chrony)"),
            520,
            70,
            w=260,
        ),
        Box(
            "note",
            "Timing",
            ("USB polling adds ~0.1-1 ms jitter", "still 10-100x better than NMEA alone"),
            280,
            250,
            w=300,
        ),
    ],
    [Wire("gps", "pc", "USB 2.0 (5 V, NMEA + DCD)", "#1f77b4", 0, 0)],
)

# --------------------------------------------------------------------------- power, data, heaters, ground
STATION = (
    "Station: power, data, heaters, grounding",
    [
        Box("mains", "Indoors: mains", ("RCD + type 2 surge protector", "12 V 60 W supply"), 20, 60),
        Box(
            "entry",
            "Building entry",
            (
                "RJ45 surge arrester (shield bonded)",
                "DC surge protector 12 V",
                "N-type coax arrester",
                "earth bar (one point)",
            ),
            20,
            230,
            w=260,
        ),
        Box(
            "head",
            "Camera head on the mast",
            (
                "12 V rail, fuse 5 A",
                "5-port Ethernet switch",
                "4 x IMX462 camera (12 V, Ethernet)",
                "4 x dew heater 2 W (thermostat)",
                "fan 40 mm",
                "computer: Pi 5 (5 V buck) or N100 PC (12 V)",
                "GPS (PPS) + RTL-SDR",
            ),
            460,
            60,
            w=300,
        ),
        Box(
            "ant", "1090 MHz antenna", ("ground plane, 1 m above roof", "LMR-200 to the SDR"), 460, 330, w=300
        ),
        Box("mast", "Mast", ("bonded to earth, 6 mm2 Cu", "drip loops on every cable"), 20, 420),
        Box("lan", "Building network", ("router: MQTT/HTTPS to the bridge",), 1000, 60, w=250),
    ],
    [
        Wire("mains", "entry", "12 V DC pair", "#d62728", 2, 1),
        Wire("entry", "head", "12 V, 2 x 1.5 mm2 outdoor", "#d62728", 2, 1),
        Wire("entry", "head", "shielded Cat6", "#1f77b4", 1, 2),
        Wire("entry", "ant", "coax", "#7f7f7f", 3, 0),
        Wire("entry", "mast", "earth, 6 mm2", "#2ca02c", 4, 1, dashed=True),
        Wire("head", "lan", "uplink via entry arrester", "#1f77b4", 2, 1, dashed=True),
    ],
)

DRAWINGS = {"gps_pi5.svg": PI5_GPS, "gps_pc.svg": PC_GPS, "station.svg": STATION}


def _anchor(box: Box, row: int, side: str) -> tuple[float, float]:
    y = box.y + box.height / 2 if row == 0 else box.y + 30.0 + 18.0 * (row - 1) - 5.0
    x = box.x + (box.w if side == "right" else 0.0)
    return x, y


def svg(title: str, boxes: list[Box], wires: list[Wire]) -> str:
    """The drawing as an SVG document (deterministic: same input, same bytes)."""
    by_key = {b.key: b for b in boxes}
    width = max(b.x + b.w for b in boxes) + 30
    height = max(b.y + b.height for b in boxes) + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="13">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
        f'<text x="20" y="28" font-size="18" font-weight="bold">{escape(title)}</text>',
    ]
    for w in wires:
        a, b = by_key[w.a], by_key[w.b]
        a_side, b_side = ("right", "left") if a.x < b.x else ("left", "right")
        if a.x == b.x:
            a_side = b_side = "left"
        (x1, y1), (x2, y2) = _anchor(a, w.a_row, a_side), _anchor(b, w.b_row, b_side)
        mx = (x1 + x2) / 2 if a.x != b.x else min(x1, x2) - 15
        dash = ' stroke-dasharray="6,4"' if w.dashed else ""
        out.append(
            f'<path d="M{x1:.1f},{y1:.1f} H{mx:.1f} V{y2:.1f} H{x2:.1f}" fill="none" '
            f'stroke="{w.colour}" stroke-width="2"{dash}/>'
        )
        if a.x == b.x:  # label beside the vertical run
            lx, ly, anchor = mx + 4, (y1 + y2) / 2 - 3, "start"
        elif a_side == "right":  # label just after the start of the wire, above it
            lx, ly, anchor = x1 + 6, y1 - 4, "start"
        else:
            lx, ly, anchor = x1 - 6, y1 - 4, "end"
        out.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" fill="{w.colour}" font-size="12">'
            f"{escape(w.label)}</text>"
        )
    for b in boxes:
        out.append(
            f'<rect x="{b.x:.0f}" y="{b.y:.0f}" width="{b.w:.0f}" height="{b.height:.0f}" rx="6" '
            'fill="#f4f6f8" stroke="#333333"/>'
        )
        out.append(f'<text x="{b.x + 8:.0f}" y="{b.y + 18:.0f}" font-weight="bold">{escape(b.title)}</text>')
        for i, line in enumerate(b.lines):
            out.append(f'<text x="{b.x + 8:.0f}" y="{b.y + 36 + 18 * i:.0f}">{escape(line)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render_all() -> dict[str, str]:
    return {name: svg(title, boxes, wires) for name, (title, boxes, wires) in DRAWINGS.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a drawing is out of date")
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)
    stale = []
    for name, text in render_all().items():
        path = args.out / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(path)
    if stale:
        print(f"out of date: {', '.join(stale)}; run python hardware/tools/drawings.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
