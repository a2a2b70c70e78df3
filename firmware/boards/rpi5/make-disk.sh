# rpi5: sourced by firmware/build-image.sh. The arm64 wheel is built inside the chroot (qemu-user);
# the disk needs the Pi boot firmware and kernel from $FIRMWARE_DIR (docs/install.md): without it
# the root file system image is still made and the disk image is left out, saying so.

board_build_wheel() {  # DEST: build the project's wheel (with its C extension) for arm64
    local dest=$1 src=$ROOTFS/tmp/skytrail-src
    rm -rf "$src"; mkdir -p "$src"
    (cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src" 2>/dev/null || true)
    # the build tools: Debian's compiler, and setuptools/wheel new enough for pyproject.toml, fetched
    # by the host's pip (pure Python) into a throwaway venv in the chroot
    mkdir -p "$ROOTFS/tmp/build-wheels"
    "$PYTHON" -m pip download -q --only-binary=:all: --no-deps -d "$ROOTFS/tmp/build-wheels" \
        "setuptools>=69" wheel >"$LOG_DIR/wheel.log" 2>&1 || die "fetching setuptools failed; see $LOG_DIR/wheel.log"
    in_chroot "$ROOTFS" apt-get update -q >>"$LOG_DIR/wheel.log" 2>&1 \
        && in_chroot "$ROOTFS" apt-get install -y -q --no-install-recommends gcc libc6-dev python3-dev \
            >>"$LOG_DIR/wheel.log" 2>&1 \
        && in_chroot "$ROOTFS" sh -c 'python3 -m venv /tmp/buildenv \
            && /tmp/buildenv/bin/pip install -q --no-index --find-links /tmp/build-wheels setuptools wheel \
            && cd /tmp/skytrail-src \
            && /tmp/buildenv/bin/pip wheel -q --no-deps --no-build-isolation --no-index . -w /tmp/wheels' \
            >>"$LOG_DIR/wheel.log" 2>&1 \
        || die "arm64 wheel build failed; see $LOG_DIR/wheel.log"
    in_chroot "$ROOTFS" apt-get purge -y -q --autoremove gcc libc6-dev python3-dev >>"$LOG_DIR/wheel.log" 2>&1
    in_chroot "$ROOTFS" apt-get clean
    rm -rf "$ROOTFS/tmp/buildenv" "$ROOTFS/tmp/build-wheels" "$ROOTFS"/var/lib/apt/lists/*
    rm -rf "$src"
}

board_finish_rootfs() {
    . "$BOARD_DIR/partitions.sh"
    cp "$BOARD_DIR/partitions.sh" "$ROOTFS/usr/lib/skytrail/partitions.sh"
    mkdir -p "$ROOTFS/boot/autoboot"
    rm -f "$ROOTFS/usr/bin/qemu-aarch64-static"
    FIRMWARE_DIR=${FIRMWARE_DIR:-}
    if [ -n "$FIRMWARE_DIR" ] && [ -d "$FIRMWARE_DIR/modules" ]; then
        mkdir -p "$ROOTFS/lib/modules"
        cp -a "$FIRMWARE_DIR"/modules/*_16k "$ROOTFS/lib/modules/" 2>/dev/null || cp -a "$FIRMWARE_DIR"/modules/* "$ROOTFS/lib/modules/"
    fi
}

make_boot_vfat() {  # SLOT IMG: one slot's boot partition
    local slot=$1 img=$2 uuid
    case $slot in a) uuid=$PARTUUID_ROOT_A ;; b) uuid=$PARTUUID_ROOT_B ;; esac
    rm -f "$img"; truncate -s $((BOOT_SIZE_MIB * 1024 * 1024)) "$img"
    mformat -i "$img" -F -v "BOOT-$slot" ::
    mcopy -i "$img" "$FIRMWARE_DIR/boot/kernel_2712.img" "$FIRMWARE_DIR/boot/bcm2712-rpi-5-b.dtb" ::/
    mcopy -i "$img" -s "$FIRMWARE_DIR/boot/overlays" ::/
    mcopy -i "$img" "$BOARD_DIR/config.txt" ::/config.txt
    echo "root=PARTUUID=$uuid rauc.slot=$slot $KERNEL_CMDLINE" >"$WORK_DIR/cmdline-$slot.txt"
    mcopy -i "$img" "$WORK_DIR/cmdline-$slot.txt" ::/cmdline.txt
}

board_make_disk() {
    . "$BOARD_DIR/partitions.sh"
    if [ -z "${FIRMWARE_DIR:-}" ] || [ ! -f "$FIRMWARE_DIR/boot/kernel_2712.img" ]; then
        flog "rpi5: FIRMWARE_DIR not given (or without boot/kernel_2712.img): the root file system image"
        flog "rpi5: $ROOTFS_IMG is built; the disk image is left out (see docs/install.md)"
        DISK_IMAGE=""
        return 0
    fi
    local mib=$((1024 * 1024)) disk=$OUT_DIR/skytrail-$BOARD.img
    local auto=$WORK_DIR/autoboot.img data=$WORK_DIR/data.img
    make_boot_vfat a "$WORK_DIR/boot-a.vfat"
    make_boot_vfat b "$WORK_DIR/boot-b.vfat"
    cp "$WORK_DIR/boot-a.vfat" "$OUT_DIR/boot.vfat"   # the bundle's boot image
    rm -f "$auto"; truncate -s $((AUTOBOOT_SIZE_MIB * mib)) "$auto"
    mformat -i "$auto" -F -v SKYTRAIL ::
    printf '[all]\ntryboot_a_b=1\nboot_partition=%s\n[tryboot]\nboot_partition=%s\n' $PART_BOOT_A $PART_BOOT_B >"$WORK_DIR/autoboot.txt"
    mcopy -i "$auto" "$WORK_DIR/autoboot.txt" ::/autoboot.txt
    rm -rf "$WORK_DIR/data-skel"; mkdir -p "$WORK_DIR/data-skel/skytrail" "$WORK_DIR/data-skel/rauc"
    rm -f "$data"; mkfs.ext4 -q -F -L data -d "$WORK_DIR/data-skel" "$data" "${DATA_SIZE_MIB}M"
    local s1=1 s2=$((1 + AUTOBOOT_SIZE_MIB)) s3=$((1 + AUTOBOOT_SIZE_MIB + BOOT_SIZE_MIB))
    local s4=$((s3 + BOOT_SIZE_MIB)) s5=$((s3 + BOOT_SIZE_MIB + ROOT_SIZE_MIB)) s6=$((s3 + BOOT_SIZE_MIB + 2 * ROOT_SIZE_MIB))
    rm -f "$disk"; truncate -s $(((s6 + DATA_SIZE_MIB + 1) * mib)) "$disk"
    sfdisk -q "$disk" <<SFDISK
label: gpt
${s1}MiB: size=${AUTOBOOT_SIZE_MIB}MiB, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=autoboot
${s2}MiB: size=${BOOT_SIZE_MIB}MiB, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=boot-a
${s3}MiB: size=${BOOT_SIZE_MIB}MiB, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=boot-b
${s4}MiB: size=${ROOT_SIZE_MIB}MiB, type=L, uuid=$PARTUUID_ROOT_A, name=rootfs-a
${s5}MiB: size=${ROOT_SIZE_MIB}MiB, type=L, uuid=$PARTUUID_ROOT_B, name=rootfs-b
${s6}MiB: size=${DATA_SIZE_MIB}MiB, type=L, name=data
SFDISK
    dd if="$auto" of="$disk" bs=1M seek=$s1 conv=notrunc,sparse status=none
    dd if="$WORK_DIR/boot-a.vfat" of="$disk" bs=1M seek=$s2 conv=notrunc,sparse status=none
    dd if="$WORK_DIR/boot-b.vfat" of="$disk" bs=1M seek=$s3 conv=notrunc,sparse status=none
    dd if="$ROOTFS_IMG" of="$disk" bs=1M seek=$s4 conv=notrunc,sparse status=none
    dd if="$data" of="$disk" bs=1M seek=$s6 conv=notrunc,sparse status=none
    DISK_IMAGE=$disk
}

board_fetch_wheels() {  # WHEELHOUSE WHEEL: the dependencies as arm64 wheels, fetched by the host's pip
    local dir=$1 wheel=$2
    "$PYTHON" -m pip download -q --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
        --platform linux_aarch64 --platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64 \
        --platform manylinux_2_28_aarch64 --platform manylinux_2_34_aarch64 \
        -d "$dir" "$wheel[hardware]" -r "$FIRMWARE_DIR_SELF/image-requirements.txt" >>"$LOG_DIR/wheel.log" 2>&1 \
        || die "fetching the arm64 dependencies failed (one without an arm64 wheel?); see $LOG_DIR/wheel.log"
}
