#!/bin/sh
# RAUC bundle hook (rpi5): each slot's boot partition is its own image (boot.vfat, made as slot
# A's). After it is written into a slot's boot partition, point its cmdline.txt at that slot's root
# (root=PARTUUID=..., rauc.slot=...), the parent rootfs slot named in system.conf.
set -eu
case "$1" in
slot-post-install)
    [ "$RAUC_SLOT_CLASS" = boot ] || exit 0
    . "${SKYTRAIL_PARTITIONS:-/usr/lib/skytrail/partitions.sh}"
    case ${RAUC_SLOT_PARENT:-} in
    rootfs.0) slot=a uuid=$PARTUUID_ROOT_A ;;
    rootfs.1) slot=b uuid=$PARTUUID_ROOT_B ;;
    *) echo "skytrail-hook: boot slot ${RAUC_SLOT_NAME:-?} has no known parent ('${RAUC_SLOT_PARENT:-}')" >&2
       exit 1 ;;
    esac
    mnt=$RAUC_SLOT_MOUNT_POINT
    if mountpoint -q "$mnt"; then mount -o remount,rw "$mnt"; fi
    f=$mnt/cmdline.txt
    [ -f "$f" ] || { echo "skytrail-hook: no cmdline.txt in the boot image" >&2; exit 1; }
    sed -e "s/root=PARTUUID=[^ ]*/root=PARTUUID=$uuid/" -e "s/rauc\.slot=[^ ]*/rauc.slot=$slot/" \
        "$f" >"$f.new"
    grep -q "rauc.slot=$slot" "$f.new" \
        || { echo "skytrail-hook: cmdline.txt names no rauc.slot" >&2; exit 1; }
    mv "$f.new" "$f"
    sync
    echo "skytrail-hook: boot partition of slot $slot points at root PARTUUID=$uuid"
    ;;
esac
