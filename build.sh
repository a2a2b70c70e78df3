#!/usr/bin/env bash
# The one entry point: ./build.sh setup | test | demo | bench | hardware   (each is idempotent)
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY=$VENV/bin/python
APT_PACKAGES=(python3-venv python3-dev gcc libc6-dev clang openscad xvfb xauth mosquitto openssl postgresql)

log() { printf '[build.sh] %s\n' "$*" >&2; }

install_system_packages() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        log "missing Debian packages; run: sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
}

setup() {
    install_system_packages
    [ -x "$PY" ] || python3 -m venv "$VENV"
    # Reinstall only when the packaging or the C sources changed.
    local stamp=$VENV/.skytrail-installed
    local digest
    digest=$(cat pyproject.toml setup.py edge/detect/*.c edge/detect/src/* 2>/dev/null | sha256sum | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        log "installing skytrail and its dependencies into $VENV"
        "$PY" -m pip install -q --upgrade pip setuptools wheel
        "$PY" -m pip install -q -e ".[dev,hardware]"
        echo "$digest" >"$stamp"
    fi
}

run_tests() {
    setup
    "$VENV/bin/ruff" check edge cloud_bridge skytrail tests
    # the C core on its own, under AddressSanitizer and UBSan, then a bounded fuzz run
    edge/detect/ctests/run.sh "${FUZZ_SECONDS:-20}"
    "$PY" -m pytest -q "$@"
}

case "${1:-}" in
    setup) setup ;;
    test) shift; run_tests "$@" ;;
    demo) shift; setup; "$VENV/bin/skytrail" demo "$@" ;;
    bench) shift; setup; "$VENV/bin/skytrail" bench all "$@" ;;
    hardware) shift; setup; hardware/build.sh "$@" ;;
    *)
        echo "usage: ./build.sh setup | test [pytest args] | demo [args] | bench | hardware" >&2
        exit 2
        ;;
esac
