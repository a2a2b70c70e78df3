#!/usr/bin/env bash
# A signed RAUC bundle of a built root file system (called by `./build.sh bundle`).
#   firmware/bundle.sh [--board B] [--version V] [--rootfs IMG] [--boot IMG] [--out FILE]
# Boards whose slots have their own boot partition (rpi5: [slot.boot.N] in its system.conf) need
# that partition's image too (--boot, default boot.vfat beside the root file system image).
# Signs with $SKYTRAIL_SIGNING_CERT/$SKYTRAIL_SIGNING_KEY (production; the CA in $SKYTRAIL_KEYRING)
# or else the development CA (firmware/keys.sh dev). The bundle is a verity bundle: the
# signature covers the manifest and the hash tree, so a changed byte anywhere is refused.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BOARD=pc-x86_64; VERSION=""; ROOTFS_IMG=""; BOOT_IMG=""; OUT=""
while [ $# -gt 0 ]; do
    case $1 in
    --board) BOARD=$2; shift 2 ;;
    --version) VERSION=$2; shift 2 ;;
    --rootfs) ROOTFS_IMG=$2; shift 2 ;;
    --boot) BOOT_IMG=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    pc-x86_64|rpi5) BOARD=$1; shift ;;
    *) die "bundle.sh: unknown argument '$1'" ;;
    esac
done
BOARD_DIR=$FIRMWARE_DIR_SELF/boards/$BOARD
[ -d "$BOARD_DIR" ] || die "unknown board '$BOARD'"
OUT_DIR=$IMAGE_BUILD_DIR/$BOARD
ROOTFS_IMG=${ROOTFS_IMG:-$OUT_DIR/rootfs.ext4}
[ -f "$ROOTFS_IMG" ] || die "no root file system image at $ROOTFS_IMG: run ./build.sh image $BOARD first"
if grep -q '^\[slot\.boot\.' "$BOARD_DIR/overlay/etc/rauc/system.conf" 2>/dev/null; then
    BOOT_IMG=${BOOT_IMG:-$OUT_DIR/boot.vfat}
    # a root file system alone would boot the slot's old kernel without its modules
    [ -f "$BOOT_IMG" ] || die "$BOARD: no boot partition image at $BOOT_IMG (kernel, device tree," \
        "config.txt; made only when the image is built with FIRMWARE_DIR: docs/install.md);" \
        "a $BOARD bundle needs it"
elif [ -n "$BOOT_IMG" ]; then
    die "$BOARD: its slots have no boot partition of their own; --boot does not apply"
fi
VERSION=${VERSION:-$(cat "$OUT_DIR/version" 2>/dev/null || echo 0.0.0)}
OUT=${OUT:-$OUT_DIR/skytrail-$BOARD-$VERSION.raucb}

if [ -n "${SKYTRAIL_SIGNING_CERT:-}" ]; then
    CERT=$SKYTRAIL_SIGNING_CERT; KEY=${SKYTRAIL_SIGNING_KEY:?SKYTRAIL_SIGNING_KEY must name the key file}
    KEYRING=${SKYTRAIL_KEYRING:?SKYTRAIL_KEYRING must name the CA that stations trust}
else
    keys=$("$FIRMWARE_DIR_SELF/keys.sh" dev)
    CERT=$keys/signing.pem; KEY=$keys/signing.key; KEYRING=$keys/ca.pem
fi

stage=$(mktemp -d "$IMAGE_BUILD_DIR/bundle.XXXXXX")
trap 'rm -rf "$stage"' EXIT
# the smallest file system that holds the slot; RAUC writes it and grows it to the partition
cp --sparse=always "$ROOTFS_IMG" "$stage/rootfs.ext4"
e2fsck -fy "$stage/rootfs.ext4" >/dev/null 2>&1 || true
resize2fs -M "$stage/rootfs.ext4" >/dev/null 2>&1
cp "$BOARD_DIR/bundle-hook.sh" "$stage/hook.sh"
cat >"$stage/manifest.raucm" <<MANIFEST
[update]
compatible=skytrail-$BOARD
version=$VERSION

[bundle]
format=verity

[hooks]
filename=hook.sh

[image.rootfs]
filename=rootfs.ext4
hooks=post-install
MANIFEST
# boards whose slots have their own boot partition (rpi5) ship its image too; the hook points its
# cmdline.txt at the slot it is written to
if [ -n "$BOOT_IMG" ]; then
    cp "$BOOT_IMG" "$stage/boot.vfat"
    printf '\n[image.boot]\nfilename=boot.vfat\nhooks=post-install\n' >>"$stage/manifest.raucm"
fi
rm -f "$OUT"
# zstd at a low level: fast to make on a build machine, and the station kernel reads it
rauc --conf="$FIRMWARE_DIR_SELF/rauc-host.conf" bundle --cert="$CERT" --key="$KEY" --keyring="$KEYRING" \
    --mksquashfs-args="-comp zstd -Xcompression-level 6" "$stage" "$OUT" >/dev/null
flog "bundle: $OUT ($(du -h "$OUT" | cut -f1), version $VERSION)"
echo "$OUT"
