#!/usr/bin/env bash
# Regenerate everything in hardware/ from its sources (called by `./build.sh hardware`):
#   bom.md from bom.csv, drawings/*.svg from tools/drawings.py, enclosure STL + PNG from head.scad,
#   and the coverage map of the M3-like reference network from the planner.
# Needs: the project venv; Debian packages openscad and xvfb for the enclosure (skipped with a
# message when missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
py=${PY:-$root/.venv/bin/python}
"$py" "$here/tools/bom.py"
"$py" "$here/tools/drawings.py"
mkdir -p "$here/build"
if command -v openscad >/dev/null; then
    "$here/enclosure/render.sh" "$here/build"
else
    echo "hardware/build.sh: openscad missing, enclosure not rendered (apt-get install -y openscad xvfb)" >&2
fi
cd "$root"
"$py" -m skytrail.cli plan coverage --m3 --png "$here/build/m3_coverage.png" --svg "$here/build/m3_coverage.svg" \
    >"$here/build/m3_coverage.json"
echo "$here/build/m3_coverage.json"
