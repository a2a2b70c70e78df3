#!/bin/sh
# RAUC bundle hook (pc-x86_64): after a root slot is written, copy its kernel and initrd to the
# ESP beside the other slot's, where systemd-boot's entry for that slot points.
set -eu
case "$1" in
slot-post-install)
    [ "$RAUC_SLOT_CLASS" = rootfs ] || exit 0
    dest=/boot/efi/skytrail/$RAUC_SLOT_BOOTNAME
    mkdir -p "$dest"
    for f in vmlinuz initrd.img; do
        src=$(ls "$RAUC_SLOT_MOUNT_POINT"/boot/$f-* | sort -V | tail -n1)
        cp "$src" "$dest/$f.new"
        mv "$dest/$f.new" "$dest/$f"
    done
    sync
    echo "skytrail-hook: kernel of slot $RAUC_SLOT_BOOTNAME copied to $dest"
    ;;
esac
