# Fixed partition UUIDs: the kernel command line names its root by PARTUUID, and RAUC's
# system.conf names the slots by partition label. Sourced by the recipe and the board's scripts.
PARTUUID_ESP=5b3a1e0c-8f3d-4b8e-9a52-6b7e2f0c0001
PARTUUID_ROOT_A=5b3a1e0c-8f3d-4b8e-9a52-6b7e2f0c000a
PARTUUID_ROOT_B=5b3a1e0c-8f3d-4b8e-9a52-6b7e2f0c000b
PARTUUID_DATA=5b3a1e0c-8f3d-4b8e-9a52-6b7e2f0c00da
