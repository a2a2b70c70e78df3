#!/usr/bin/env bash
# Render the camera head: STL (mesh) and a PNG preview.
#   hardware/enclosure/render.sh [OUT_DIR] [-D 'name=value' ...]
# Needs OpenSCAD (Debian package `openscad`). The PNG preview needs an OpenGL context: without a
# display it runs under `xvfb-run` (Debian package `xvfb`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build}
shift || true
mkdir -p "$out"
if ! command -v openscad >/dev/null; then
    echo "render.sh: openscad is missing; install it with: apt-get install -y openscad xvfb" >&2
    exit 3
fi
openscad --hardwarnings -o "$out/head.stl" "$@" "$here/head.scad" 2>"$out/openscad-stl.log" \
    || { cat "$out/openscad-stl.log" >&2; exit 1; }
png_cmd=(openscad -o "$out/head.png" --imgsize=1000,800 --viewall --autocenter --camera=0,0,0,55,0,25,0
    --colorscheme=Tomorrow "$@" "$here/head.scad")
if [ -z "${DISPLAY:-}" ]; then
    if ! command -v xvfb-run >/dev/null; then
        echo "render.sh: no display and no xvfb-run for the PNG; install it with: apt-get install -y xvfb" >&2
        exit 3
    fi
    png_cmd=(xvfb-run -a "${png_cmd[@]}")
fi
"${png_cmd[@]}" 2>"$out/openscad-png.log" || { cat "$out/openscad-png.log" >&2; exit 1; }
echo "$out/head.stl"
echo "$out/head.png"
