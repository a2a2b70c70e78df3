# rpi5: sourced by firmware/build-image.sh. The arm64 wheel is built inside the chroot (qemu-user);
# the disk needs the Pi boot firmware and kernel from $FIRMWARE_DIR (docs/install.md): without it
# the root file system image is still made and the disk image is left out, saying so.

# A FIRMWARE_DIR that lacks a part is refused now, not after the long build.
if [ -n "${FIRMWARE_DIR:-}" ]; then
    for need in boot/kernel_2712.img boot/bcm2712-rpi-5-b.dtb boot/overlays modules; do
        [ -e "$FIRMWARE_DIR/$need" ] \
            || die "rpi5: FIRMWARE_DIR=$FIRMWARE_DIR has no $need (layout: docs/install.md)"
    done
fi

board_build_wheel() {  # DEST: build the project's wheel (with its C extension) for arm64
    local dest=$1 src=$ROOTFS/tmp/skytrail-src
    rm -rf "$src"; mkdir -p "$src"
    (cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src" 2>/dev/null || true)
    # the build tools: Debian's compiler, and setuptools/wheel new enough for pyproject.toml (its
    # SPDX `license` string needs setuptools 77), fetched with their dependencies (wheel needs
    # packaging) by the host's pip (pure Python: the host's Python 3.11 resolves them as the
    # chroot's would) into a throwaway venv in the chroot; --upgrade, as the venv comes with
    # Debian's older setuptools
    mkdir -p "$ROOTFS/tmp/build-wheels"
    "$PYTHON" -m pip download -q --only-binary=:all: -d "$ROOTFS/tmp/build-wheels" \
        "setuptools>=77" wheel >"$LOG_DIR/wheel.log" 2>&1 || die "fetching setuptools failed; see $LOG_DIR/wheel.log"
    in_chroot "$ROOTFS" apt-get update -q >>"$LOG_DIR/wheel.log" 2>&1 \
        && in_chroot "$ROOTFS" apt-get install -y -q --no-install-recommends gcc libc6-dev python3-dev \
            >>"$LOG_DIR/wheel.log" 2>&1 \
        && in_chroot "$ROOTFS" sh -c 'python3 -m venv /tmp/buildenv \
            && /tmp/buildenv/bin/pip install -q --upgrade --no-index --find-links /tmp/build-wheels \
                setuptools wheel \
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
    if [ -n "${FIRMWARE_DIR:-}" ]; then
        # the modules of kernel_2712.img (16K pages): named <version>-v8-16k+ in raspberrypi/firmware,
        # <version>-rpi-2712 in Raspberry Pi OS; a directory with one kernel's modules is taken as is
        local d all=() pi5=()
        for d in "$FIRMWARE_DIR"/modules/*/; do
            [ -d "$d" ] || continue
            d=${d%/}; all+=("$d")
            case ${d##*/} in *16k+ | *_16k | *-rpi-2712) pi5+=("$d") ;; esac
        done
        [ ${#pi5[@]} -gt 0 ] || [ ${#all[@]} -ne 1 ] || pi5=("${all[@]}")
        [ ${#pi5[@]} -gt 0 ] || die "rpi5: no Pi 5 kernel modules (*-16k+, *-rpi-2712) among: ${all[*]##*/}"
        mkdir -p "$ROOTFS/lib/modules"
        cp -a "${pi5[@]}" "$ROOTFS/lib/modules/"
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
    if [ -z "${FIRMWARE_DIR:-}" ]; then  # (a FIRMWARE_DIR lacking a part was refused at the start)
        flog "rpi5: FIRMWARE_DIR not given: the root file system image $ROOTFS_IMG is built;"
        flog "rpi5: the disk image and the bundle's boot image boot.vfat are left out (see docs/install.md)"
        # nothing of an earlier build with FIRMWARE_DIR may pair with this root file system
        rm -f "$OUT_DIR/skytrail-$BOARD.img" "$OUT_DIR/boot.vfat"
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
    local dir=$1 wheel=$2 glibc_minor platforms=(--platform linux_aarch64 --platform manylinux2014_aarch64)
    # every manylinux tag that bookworm's glibc 2.36 satisfies (pip takes only the tags it is given;
    # e.g. ai-edge-litert ships manylinux_2_27 alone)
    for glibc_minor in $(seq 17 36); do platforms+=(--platform "manylinux_2_${glibc_minor}_aarch64"); done
    "$PYTHON" -m pip download -q --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
        "${platforms[@]}" -d "$dir" "$wheel[hardware]" -r "$FIRMWARE_DIR_SELF/image-requirements.txt" \
        >>"$LOG_DIR/wheel.log" 2>&1 \
        || die "fetching the arm64 dependencies failed (one without an arm64 wheel?); see $LOG_DIR/wheel.log"
}
