# Shared functions of the image recipe, sourced by firmware/build-image.sh and firmware/bundle.sh.
# Nothing here mounts FAT: the ESP is written with mtools, ext4 file systems with `mkfs.ext4 -d`.

FIRMWARE_DIR_SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$FIRMWARE_DIR_SELF/.." && pwd)
IMAGE_BUILD_DIR=${IMAGE_BUILD_DIR:-$REPO_ROOT/build/image}
CACHE_DIR=$IMAGE_BUILD_DIR/cache
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

flog() { printf '[firmware] %s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { flog "error: $*"; exit 1; }

# Packages every board's root file system gets (board.conf adds BOARD_PACKAGES).
COMMON_PACKAGES=(
    systemd systemd-sysv udev dbus kmod procps iproute2 iputils-ping less
    initramfs-tools e2fsprogs dosfstools ca-certificates
    python3 python3-venv
    rauc rauc-service squashfs-tools
    chrony gpsd gpsd-tools pps-tools
    dump1090-mutability rtl-sdr
    avahi-daemon libnss-mdns
    openssh-server wpasupplicant
)

# Bind the kernel file systems into a chroot; `chroot_umount` undoes it (also from an EXIT trap).
chroot_mount() {
    local root=$1
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys"
    mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"
    mkdir -p "$root/run"; mount -t tmpfs tmpfs "$root/run"
    # the image links resolv.conf to systemd-resolved; inside the build, the host resolves
    rm -f "$root/etc/resolv.conf"; cp -L /etc/resolv.conf "$root/etc/resolv.conf"
}

chroot_umount() {
    local root=$1 m
    for m in run dev sys proc var/cache/skytrail-pip; do
        mountpoint -q "$root/$m" 2>/dev/null && umount -R "$root/$m" 2>/dev/null || true
    done
    return 0
}

in_chroot() {
    local root=$1; shift
    LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"
}

# debootstrap a minimal bookworm once per architecture; later builds copy the cached directory.
bootstrap_base() {
    local arch=$1
    local base=$CACHE_DIR/$arch-base
    if [ -f "$base/.complete" ]; then
        flog "debootstrap: cached $base"
        return 0
    fi
    rm -rf "$base"; mkdir -p "$CACHE_DIR"
    local extra=()
    if [ "$arch" != "$(dpkg --print-architecture)" ]; then
        register_binfmt "$arch"
        extra=(--foreign)
    fi
    flog "debootstrap: $DEBIAN_SUITE $arch into $base"
    debootstrap --variant=minbase --arch="$arch" "${extra[@]}" "$DEBIAN_SUITE" "$base" "$DEBIAN_MIRROR" \
        >"$CACHE_DIR/debootstrap-$arch.log" 2>&1 || die "debootstrap failed; see $CACHE_DIR/debootstrap-$arch.log"
    if [ ${#extra[@]} -gt 0 ]; then
        cp /usr/bin/qemu-aarch64-static "$base/usr/bin/"
        chroot "$base" /debootstrap/debootstrap --second-stage >>"$CACHE_DIR/debootstrap-$arch.log" 2>&1 \
            || die "debootstrap second stage failed; see $CACHE_DIR/debootstrap-$arch.log"
    fi
    touch "$base/.complete"
}

# The base plus the Debian packages, cached by the package list's digest.
bootstrap_packages() {
    local arch=$1; shift
    local packages=("$@")
    local digest
    digest=$(printf '%s\n' "${packages[@]}" | sort | sha256sum | cut -c1-12)
    local dir=$CACHE_DIR/$arch-packages-$digest
    PACKAGES_DIR=$dir
    if [ -f "$dir/.complete" ]; then
        flog "packages: cached $dir"
        return 0
    fi
    bootstrap_base "$arch"
    rm -rf "$dir"; cp -a "$CACHE_DIR/$arch-base" "$dir"; rm -f "$dir/.complete"
    trap 'chroot_umount "'"$dir"'"' EXIT
    chroot_mount "$dir"
    # No service starts inside the build chroot.
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"; chmod +x "$dir/usr/sbin/policy-rc.d"
    flog "packages: installing ${#packages[@]} packages"
    {
        in_chroot "$dir" apt-get update -q \
            && in_chroot "$dir" apt-get install -y -q --no-install-recommends "${packages[@]}" \
            && in_chroot "$dir" apt-get clean
    } >"$CACHE_DIR/packages-$arch.log" 2>&1 || { chroot_umount "$dir"; die "apt-get failed; see $CACHE_DIR/packages-$arch.log"; }
    rm -f "$dir/usr/sbin/policy-rc.d"
    chroot_umount "$dir"; trap - EXIT
    touch "$dir/.complete"
}

register_binfmt() {
    local arch=$1
    [ "$arch" = arm64 ] || die "no binfmt recipe for $arch"
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        # F: the interpreter is opened now, so it works inside chroots that lack it.
        printf '%s' ':qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:F' \
            >/proc/sys/fs/binfmt_misc/register
        flog "binfmt: registered qemu-aarch64"
    fi
}
