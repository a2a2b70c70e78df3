"""Bill of materials: reads hardware/bom.csv, checks it, and writes hardware/bom.md with the cost and
the power budget of each station variant (common parts plus the Raspberry Pi 5 or the x86 PC set).

    python hardware/tools/bom.py            # rewrite hardware/bom.md
    python hardware/tools/bom.py --check    # exit 1 if bom.md is not what bom.csv gives

Power: per-unit typical and maximum watts from the CSV, times quantity. Loads on 5 V and 3.3 V are
fed from the 12 V rail through a buck converter of `BUCK_EFFICIENCY`; the 12 V supply itself is
counted at `PSU_EFFICIENCY` from the mains.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
CSV_PATH = HERE / "bom.csv"
MD_PATH = HERE / "bom.md"
VARIANTS = {"pi5": "Raspberry Pi 5", "pc": "x86 mini PC (Intel N100)"}
SUPPLIES = {"12V", "5V", "3V3", "none", "mains"}
BUCK_EFFICIENCY = 0.90
PSU_EFFICIENCY = 0.88


@dataclass(frozen=True)
class Part:
    variant: str
    item: str
    qty: int
    unit_cost_eur: float
    supply: str
    power_typ_w: float
    power_max_w: float
    example: str
    reason: str


def read_bom(path: Path = CSV_PATH) -> list[Part]:
    """Rows of the CSV as parts; ValueError naming the row and field on bad input."""
    parts = []
    with open(path, newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            try:
                part = Part(
                    variant=row["variant"],
                    item=row["item"],
                    qty=int(row["qty"]),
                    unit_cost_eur=float(row["unit_cost_eur"]),
                    supply=row["supply"],
                    power_typ_w=float(row["power_typ_w"]),
                    power_max_w=float(row["power_max_w"]),
                    example=row["example"],
                    reason=row["reason"],
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{n}: bad row ({exc})") from None
            if part.variant not in {"common", *VARIANTS}:
                raise ValueError(f"{path}:{n}: variant {part.variant!r} is not common/pi5/pc")
            if part.supply not in SUPPLIES:
                raise ValueError(f"{path}:{n}: supply {part.supply!r} is not one of {sorted(SUPPLIES)}")
            if part.qty < 1 or part.unit_cost_eur < 0 or not 0 <= part.power_typ_w <= part.power_max_w:
                raise ValueError(f"{path}:{n}: qty >= 1, cost >= 0 and 0 <= typical <= max power needed")
            if len(part.reason.split()) < 5:
                raise ValueError(f"{path}:{n}: {part.item!r} needs a reason for the choice")
            parts.append(part)
    return parts


def variant_parts(parts: list[Part], variant: str) -> list[Part]:
    return [p for p in parts if p.variant in ("common", variant)]


def power_budget(parts: list[Part]) -> dict[str, float]:
    """Watts at the loads (typical, max) and drawn from the mains through the converters."""
    load_typ = sum(p.qty * p.power_typ_w for p in parts)
    load_max = sum(p.qty * p.power_max_w for p in parts)
    low_typ = sum(p.qty * p.power_typ_w for p in parts if p.supply in ("5V", "3V3"))
    low_max = sum(p.qty * p.power_max_w for p in parts if p.supply in ("5V", "3V3"))
    rail_typ = load_typ - low_typ + low_typ / BUCK_EFFICIENCY
    rail_max = load_max - low_max + low_max / BUCK_EFFICIENCY
    return {
        "load_typ_w": load_typ,
        "load_max_w": load_max,
        "rail_12v_typ_w": rail_typ,
        "rail_12v_max_w": rail_max,
        "mains_typ_w": rail_typ / PSU_EFFICIENCY,
        "mains_max_w": rail_max / PSU_EFFICIENCY,
        "energy_per_night_wh": rail_typ / PSU_EFFICIENCY * 12.0,
    }


def cost_eur(parts: list[Part]) -> float:
    return sum(p.qty * p.unit_cost_eur for p in parts)


def render_markdown(parts: list[Part]) -> str:
    lines = [
        "# Bill of materials: the reference four-camera station",
        "",
        "Generated from `hardware/bom.csv` by `hardware/tools/bom.py`; do not edit by hand.",
        "Prices are rough 2024-2025 retail figures in euros; power per unit at 12 V unless stated.",
        "",
    ]
    for variant, title in VARIANTS.items():
        vp = variant_parts(parts, variant)
        b = power_budget(vp)
        lines += [
            f"## Variant: {title}",
            "",
            "| item | qty | unit EUR | supply | typ W | max W | example | why |",
            "|---|---:|---:|---|---:|---:|---|---|",
        ]
        for p in vp:
            lines.append(
                f"| {p.item} | {p.qty} | {p.unit_cost_eur:.0f} | {p.supply} | {p.qty * p.power_typ_w:.2f} | "
                f"{p.qty * p.power_max_w:.2f} | {p.example} | {p.reason} |"
            )
        lines += [
            f"| **total** | | **{cost_eur(vp):.0f}** | | **{b['load_typ_w']:.2f}** | "
            f"**{b['load_max_w']:.2f}** | | |",
            "",
            f"Power budget ({title}): loads {b['load_typ_w']:.1f} W typical, "
            f"{b['load_max_w']:.1f} W at most; "
            f"on the 12 V rail (5 V and 3.3 V loads through a {BUCK_EFFICIENCY:.0%} buck) "
            f"{b['rail_12v_typ_w']:.1f} W typical, {b['rail_12v_max_w']:.1f} W at most; from the mains "
            f"(supply {PSU_EFFICIENCY:.0%} efficient) {b['mains_typ_w']:.1f} W typical, "
            f"{b['mains_max_w']:.1f} W "
            f"at most, about {b['energy_per_night_wh']:.0f} Wh over a 12-hour night. A 60 W supply leaves "
            f"{60 - b['rail_12v_max_w']:.0f} W of headroom at the maximum.",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if bom.md is out of date")
    args = ap.parse_args(argv)
    text = render_markdown(read_bom())
    if args.check:
        if not MD_PATH.exists() or MD_PATH.read_text() != text:
            print(f"{MD_PATH} is out of date: run python hardware/tools/bom.py", file=sys.stderr)
            return 1
        return 0
    MD_PATH.write_text(text)
    print(MD_PATH)
    return 0


if __name__ == "__main__":
    sys.exit(main())
