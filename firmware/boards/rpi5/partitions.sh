# Partition numbers and UUIDs of the Pi 5 image (autoboot.txt names boot partitions by number).
PART_AUTOBOOT=1
PART_BOOT_A=2
PART_BOOT_B=3
PARTUUID_ROOT_A=6c1e7f3a-2d4b-4c55-8e1a-0f9d3b2a000a
PARTUUID_ROOT_B=6c1e7f3a-2d4b-4c55-8e1a-0f9d3b2a000b
