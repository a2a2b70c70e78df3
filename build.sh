#!/usr/bin/env bash
# The one entry point: ./build.sh setup | test | demo | bench | hardware | image | bundle | image-test
# (each is idempotent)
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

# setup [EXTRAS]: the venv with skytrail and the optional dependency groups EXTRAS (default
# dev,hardware; the tests add train, TensorFlow, to check the classifier's training end to end)
setup() {
    local extras=${1:-dev,hardware}
    install_system_packages
    [ -x "$PY" ] || python3 -m venv "$VENV"
    # Reinstall only when the packaging or the C sources changed.
    local stamp=$VENV/.skytrail-installed-${extras//,/-}
    local digest
    digest=$(cat pyproject.toml setup.py edge/detect/*.c edge/detect/src/* 2>/dev/null | sha256sum | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        log "installing skytrail and its dependencies ($extras) into $VENV"
        "$PY" -m pip install -q --upgrade pip setuptools wheel
        "$PY" -m pip install -q -e ".[$extras]"
        echo "$digest" >"$stamp"
    fi
}

# the browser that the web pages' tests drive (not needed to run a station or the bridge)
TEST_APT_PACKAGES=(chromium)

run_tests() {
    setup dev,hardware,train
    local saved=("${APT_PACKAGES[@]}")
    APT_PACKAGES=("${TEST_APT_PACKAGES[@]}")
    install_system_packages
    APT_PACKAGES=("${saved[@]}")
    "$VENV/bin/ruff" check edge cloud_bridge skytrail tests
    # the C core on its own, under AddressSanitizer and UBSan, then a bounded fuzz run
    edge/detect/ctests/run.sh "${FUZZ_SECONDS:-20}"
    "$PY" -m pytest -q "$@"
}

# The firmware image (run as root): Debian tools to build a disk without mounting FAT, and QEMU
# with OVMF for the image test.
IMAGE_APT_PACKAGES=(debootstrap qemu-system-x86 ovmf qemu-user-static binfmt-support mtools dosfstools
    squashfs-tools rauc fdisk e2fsprogs openssl qemu-utils openssh-client)

install_image_packages() {
    local saved=("${APT_PACKAGES[@]}")
    APT_PACKAGES=("${IMAGE_APT_PACKAGES[@]}")
    install_system_packages
    APT_PACKAGES=("${saved[@]}")
}

image() {
    install_image_packages
    setup
    PYTHON=$PY firmware/build-image.sh "${1:-pc-x86_64}"
}

image_test() {
    install_image_packages
    setup
    [ -f build/image/pc-x86_64/skytrail-pc-x86_64.img ] || image pc-x86_64
    "$PY" tests/image/harness.py "$@"
}

case "${1:-}" in
    setup) setup ;;
    test) shift; run_tests "$@" ;;
    demo) shift; setup; "$VENV/bin/skytrail" demo "$@" ;;
    bench) shift; setup; "$VENV/bin/skytrail" bench all "$@" ;;
    hardware) shift; setup; hardware/build.sh "$@" ;;
    image) shift; image "$@" ;;
    bundle) shift; install_image_packages; firmware/bundle.sh "$@" ;;
    image-test) shift; image_test "$@" ;;
    *)
        echo "usage: ./build.sh setup | test [pytest args] | demo [args] | bench | hardware" >&2
        echo "       ./build.sh image [pc-x86_64|rpi5] | bundle [--board B] [--version V] | image-test" >&2
        exit 2
        ;;
esac
