#!/bin/sh
# RAUC bundle hook (rpi5): nothing to copy; each slot's boot partition is its own image (boot.vfat).
exit 0
