#!/usr/bin/env bash
# The shared image recipe: ./firmware/build-image.sh [pc-x86_64|rpi5]   (run as root; called by
# `./build.sh image`). Steps: debootstrap bookworm (cached) -> Debian packages (cached by list)
# -> the project's wheel and its dependencies in a venv under /opt/skytrail -> rootfs/ and the
# board's overlay -> the root file system as an ext4 image -> the board's disk image.
# Outputs go to build/image/<board>/ with build.json (times and sizes).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

BOARD=${1:-pc-x86_64}
PYTHON=${PYTHON:-python3}; case $PYTHON in /*) ;; */*) PYTHON=$REPO_ROOT/$PYTHON ;; *) PYTHON=$(command -v "$PYTHON") ;; esac
BOARD_DIR=$FIRMWARE_DIR_SELF/boards/$BOARD
[ -f "$BOARD_DIR/board.conf" ] || die "unknown board '$BOARD' (boards: $(ls "$FIRMWARE_DIR_SELF/boards" | tr '\n' ' '))"
[ "$(id -u)" -eq 0 ] || die "the image is built as root (debootstrap, chroot)"
source "$BOARD_DIR/board.conf"
source "$BOARD_DIR/make-disk.sh"

OUT_DIR=$IMAGE_BUILD_DIR/$BOARD
WORK_DIR=$OUT_DIR/work
LOG_DIR=$OUT_DIR/logs
ROOTFS=$WORK_DIR/rootfs
ROOTFS_IMG=$OUT_DIR/rootfs.ext4
mkdir -p "$OUT_DIR" "$WORK_DIR" "$LOG_DIR"
t_start=$(date +%s)
declare -A step_s=()
step_begin() { STEP=$1; STEP_T0=$(date +%s); flog "step $STEP"; }
step_end() { step_s[$STEP]=$(( $(date +%s) - STEP_T0 )); }

step_begin packages
bootstrap_packages "$ARCH" "${COMMON_PACKAGES[@]}" "${BOARD_PACKAGES[@]}"
step_end

step_begin rootfs-copy
chroot_umount "$ROOTFS"
rm -rf "$ROOTFS"; cp -a "$PACKAGES_DIR" "$ROOTFS"; rm -f "$ROOTFS/.complete"
trap 'chroot_umount "$ROOTFS"' EXIT
chroot_mount "$ROOTFS"
step_end

# The project: a wheel built from this checkout, installed with its runtime dependencies (no
# [dev]/[train] extras) into /opt/skytrail. Wheels are kept under build/image/cache/wheels-<arch>.
step_begin venv
VERSION=$(cd "$REPO_ROOT" && "${PYTHON:-python3}" -c 'import tomllib;print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
GIT_REV=$(cd "$REPO_ROOT" && git describe --always --dirty 2>/dev/null || echo unknown)
BUILD_UTC=$(date -u +%Y-%m-%dT%H:%M:%SZ)
IMAGE_VERSION=${IMAGE_VERSION:-$VERSION+$(date -u +%Y%m%d%H%M)}
mkdir -p "$ROOTFS/tmp/wheels"
WHEELHOUSE=$CACHE_DIR/wheels-$ARCH
mkdir -p "$WHEELHOUSE"
# an older wheel of the project left in the wheelhouse would be taken as "already downloaded", with
# its old list of dependencies
rm -f "$WHEELHOUSE"/skytrail-*.whl
if [ "$ARCH" = "$(dpkg --print-architecture)" ]; then
    # same Debian and Python as the image: the host builds the wheel (with its C extension), from
    # a copy of the sources git knows of (not build/, where this image is being made)
    src=$WORK_DIR/src; rm -rf "$src"; mkdir -p "$src"
    (cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src" 2>/dev/null || true)
    (cd "$src" && "$PYTHON" -m pip wheel -q --no-deps --no-build-isolation . -w "$ROOTFS/tmp/wheels") \
        >"$LOG_DIR/wheel.log" 2>&1 || die "wheel build failed; see $LOG_DIR/wheel.log"
    rm -rf "$src"
    # the dependencies, fetched (and built where only sources exist) by the host's pip, with its
    # index and certificate settings; the chroot installs them without network
    wheel=$(ls "$ROOTFS"/tmp/wheels/skytrail-*.whl)
    "$PYTHON" -m pip wheel -q -w "$WHEELHOUSE" "$wheel[hardware]" -r "$FIRMWARE_DIR_SELF/image-requirements.txt" \
        >>"$LOG_DIR/wheel.log" 2>&1 \
        || die "fetching the dependencies failed; see $LOG_DIR/wheel.log"
else
    board_build_wheel "$ROOTFS/tmp/wheels"
    board_fetch_wheels "$WHEELHOUSE" "$(ls "$ROOTFS"/tmp/wheels/skytrail-*.whl)"
fi
# `pip wheel` saves the project's own wheel in the wheelhouse too: drop it, or this and later builds
# would copy it over the one just built from this checkout
rm -f "$WHEELHOUSE"/skytrail-*.whl
cp "$WHEELHOUSE"/*.whl "$ROOTFS/tmp/wheels/" 2>/dev/null || true
cp "$FIRMWARE_DIR_SELF/image-requirements.txt" "$ROOTFS/tmp/wheels/"
{
    in_chroot "$ROOTFS" python3 -m venv /opt/skytrail &&
    in_chroot "$ROOTFS" sh -c 'PIP_CONFIG_FILE=/dev/null /opt/skytrail/bin/pip install -q --no-index --find-links /tmp/wheels \
        "$(ls /tmp/wheels/skytrail-*.whl)[hardware]" -r /tmp/wheels/image-requirements.txt'
} >"$LOG_DIR/venv.log" 2>&1 || die "venv install failed; see $LOG_DIR/venv.log"
rm -rf "$ROOTFS/tmp/wheels"
step_end

step_begin overlay
cp -a "$REPO_ROOT/rootfs/." "$ROOTFS/"; rm -f "$ROOTFS/README.md"
[ -d "$BOARD_DIR/overlay" ] && cp -a "$BOARD_DIR/overlay/." "$ROOTFS/"
cat >"$ROOTFS/etc/skytrail-release" <<REL
SKYTRAIL_VERSION=$IMAGE_VERSION
SKYTRAIL_BOARD=$BOARD
SKYTRAIL_GIT=$GIT_REV
SKYTRAIL_BUILD_UTC=$BUILD_UTC
REL
# the bundle signer's CA, which RAUC checks bundles against
"$FIRMWARE_DIR_SELF/keys.sh" keyring >"$ROOTFS/etc/rauc/keyring.pem"
configure_rootfs() {
    # no default passwords: root is locked; SSH only with a provisioned key (rootfs/etc/ssh)
    in_chroot "$ROOTFS" usermod -p '!' root
    rm -f "$ROOTFS"/etc/ssh/ssh_host_*
    : >"$ROOTFS/etc/machine-id"; rm -f "$ROOTFS/var/lib/dbus/machine-id"
    echo skytrail >"$ROOTFS/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 skytrail\n::1 localhost ip6-localhost ip6-loopback\n' >"$ROOTFS/etc/hosts"
    mkdir -p "$ROOTFS/data" "$ROOTFS/boot/efi"
    # dump1090: Beast output on 30005 for edge.adsb; started by udev when an RTL-SDR is plugged in
    sed -i -e 's/^START_DUMP1090=.*/START_DUMP1090="yes"/' -e 's/^BEAST_OUTPUT_PORT=.*/BEAST_OUTPUT_PORT="30005"/' \
        -e 's/^NET_BIND_ADDRESS=.*/NET_BIND_ADDRESS="127.0.0.1"/' "$ROOTFS/etc/default/dump1090-mutability" || true
    in_chroot "$ROOTFS" systemctl disable dump1090-mutability.service ssh.service ssh.socket
    in_chroot "$ROOTFS" systemctl enable systemd-networkd.service systemd-resolved.service \
        skytrail-station.service skytrail-health.service skytrail-provision.service \
        skytrail-local-settings.service skytrail-ssh-gate.path chrony.service gpsd.service avahi-daemon.service
    ln -sf /run/systemd/resolve/stub-resolv.conf "$ROOTFS/etc/resolv.conf"
    # lean: documentation, manuals, apt lists, caches
    rm -rf "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
        "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/root/.cache
    find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
}
configure_rootfs >>"$LOG_DIR/rootfs.log" 2>&1 || die "configuring the root file system failed; see $LOG_DIR/rootfs.log"
board_finish_rootfs
chroot_umount "$ROOTFS"; trap - EXIT
step_end

step_begin rootfs-image
rm -f "$ROOTFS_IMG"
mkfs.ext4 -q -F -L rootfs -d "$ROOTFS" "$ROOTFS_IMG" "${ROOT_SIZE_MIB}M" >>"$LOG_DIR/rootfs.log" 2>&1 \
    || die "mkfs.ext4 -d failed (root file system larger than ${ROOT_SIZE_MIB} MiB?); see $LOG_DIR/rootfs.log"
echo "$IMAGE_VERSION" >"$OUT_DIR/version"
step_end

step_begin disk
DISK_IMAGE=""
board_make_disk
step_end

t_total=$(( $(date +%s) - t_start ))
rootfs_used=$(du -sb --exclude=proc --exclude=sys --exclude=dev "$ROOTFS" | cut -f1)
disk_alloc=0; [ -n "$DISK_IMAGE" ] && disk_alloc=$(du -B1 "$DISK_IMAGE" | cut -f1)
{
    printf '{"board": "%s", "version": "%s", "git": "%s", "build_utc": "%s", "build_s": %d,\n' \
        "$BOARD" "$IMAGE_VERSION" "$GIT_REV" "$BUILD_UTC" "$t_total"
    printf ' "rootfs_bytes": %d, "disk_image": "%s", "disk_image_allocated_bytes": %d,\n' \
        "$rootfs_used" "$DISK_IMAGE" "$disk_alloc"
    printf ' "disk_image_size_bytes": %d, "steps_s": {' "$( [ -n "$DISK_IMAGE" ] && stat -c %s "$DISK_IMAGE" || echo 0)"
    sep=""; for k in "${!step_s[@]}"; do printf '%s"%s": %d' "$sep" "$k" "${step_s[$k]}"; sep=", "; done
    printf '}}\n'
} >"$OUT_DIR/build.json"
cat "$OUT_DIR/build.json"
flog "image done in ${t_total}s: ${DISK_IMAGE:-no disk image (see above)}"
