# pc-x86_64: the GPT disk image, sourced by firmware/build-image.sh after the root file system
# image is made. Inputs: $ROOTFS (directory), $ROOTFS_IMG (ext4 slot image), $OUT_DIR.
# Output: $OUT_DIR/skytrail-pc-x86_64.img (ESP, root A = the new image, root B empty, data).

board_finish_rootfs() {
    . "$BOARD_DIR/partitions.sh"
    cp "$BOARD_DIR/partitions.sh" "$ROOTFS/usr/lib/skytrail/partitions.sh"
    sed -i "s|@CMDLINE@|$KERNEL_CMDLINE|" "$ROOTFS/usr/lib/skytrail/boot-entry.conf.in"
    # the initramfs (made when the kernel was installed) finds virtio, NVMe, SATA and USB disks: MODULES=most
    printf 'MODULES=most\nCOMPRESS=gzip\n' >"$ROOTFS/etc/initramfs-tools/conf.d/skytrail.conf"
    cp "$ROOTFS/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$OUT_DIR/systemd-bootx64.efi"
}

board_make_disk() {
    . "$BOARD_DIR/partitions.sh"
    local esp=$WORK_DIR/esp.img data=$WORK_DIR/data.img disk=$OUT_DIR/skytrail-$BOARD.img
    local mib=$((1024 * 1024))

    # ESP: systemd-boot, slot A's kernel and initrd, loader.conf and slot A's entry (a known
    # good factory image: no tries counter). Written with mtools; nothing is mounted.
    rm -f "$esp"; truncate -s $((ESP_SIZE_MIB * mib)) "$esp"
    mformat -i "$esp" -F -v SKYTRAIL ::
    mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/EFI/systemd ::/loader ::/loader/entries ::/skytrail ::/skytrail/a ::/skytrail/b
    mcopy -i "$esp" "$OUT_DIR/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
    mcopy -i "$esp" "$OUT_DIR/systemd-bootx64.efi" ::/EFI/systemd/systemd-bootx64.efi
    mcopy -i "$esp" "$(ls "$ROOTFS"/boot/vmlinuz-* | sort -V | tail -n1)" ::/skytrail/a/vmlinuz
    mcopy -i "$esp" "$(ls "$ROOTFS"/boot/initrd.img-* | sort -V | tail -n1)" ::/skytrail/a/initrd.img
    printf 'timeout 0\neditor no\nauto-firmware no\nconsole-mode keep\n' >"$WORK_DIR/loader.conf"
    mcopy -i "$esp" "$WORK_DIR/loader.conf" ::/loader/loader.conf
    sed -e 's/@SLOT@/a/g' -e "s/@PARTUUID@/$PARTUUID_ROOT_A/g" -e 's/@VERSION@/1/g' \
        "$ROOTFS/usr/lib/skytrail/boot-entry.conf.in" >"$WORK_DIR/skytrail-a.conf"
    mcopy -i "$esp" "$WORK_DIR/skytrail-a.conf" ::/loader/entries/skytrail-a.conf

    # data: config, outbox, recordings; made once here, never written by an update
    rm -rf "$WORK_DIR/data-skel"; mkdir -p "$WORK_DIR/data-skel/skytrail" "$WORK_DIR/data-skel/rauc"
    rm -f "$data"
    mkfs.ext4 -q -F -L data -d "$WORK_DIR/data-skel" "$data" "${DATA_SIZE_MIB}M"

    # GPT: 1 MiB alignment; partition labels are what fstab and RAUC use
    local start=1 total=$((1 + ESP_SIZE_MIB + 2 * ROOT_SIZE_MIB + DATA_SIZE_MIB + 1))
    rm -f "$disk"; truncate -s $((total * mib)) "$disk"
    sfdisk -q "$disk" <<SFDISK
label: gpt
unit: sectors
${start}MiB: size=${ESP_SIZE_MIB}MiB, type=U, uuid=$PARTUUID_ESP, name=esp
$((start + ESP_SIZE_MIB))MiB: size=${ROOT_SIZE_MIB}MiB, type=L, uuid=$PARTUUID_ROOT_A, name=rootfs-a
$((start + ESP_SIZE_MIB + ROOT_SIZE_MIB))MiB: size=${ROOT_SIZE_MIB}MiB, type=L, uuid=$PARTUUID_ROOT_B, name=rootfs-b
$((start + ESP_SIZE_MIB + 2 * ROOT_SIZE_MIB))MiB: size=${DATA_SIZE_MIB}MiB, type=L, uuid=$PARTUUID_DATA, name=data
SFDISK
    dd if="$esp" of="$disk" bs=1M seek=$start conv=notrunc,sparse status=none
    dd if="$ROOTFS_IMG" of="$disk" bs=1M seek=$((start + ESP_SIZE_MIB)) conv=notrunc,sparse status=none
    dd if="$data" of="$disk" bs=1M seek=$((start + ESP_SIZE_MIB + 2 * ROOT_SIZE_MIB)) conv=notrunc,sparse status=none
    DISK_IMAGE=$disk
}
