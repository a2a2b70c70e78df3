#!/usr/bin/env bash
# C tests of the detection core under AddressSanitizer + UndefinedBehaviorSanitizer (gcc),
# then a bounded libFuzzer run of the frame-feeding API (clang, if installed).
# Usage: edge/detect/ctests/run.sh [fuzz_seconds]   (default 20; 0 skips fuzzing)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../src"
out="${CTEST_BUILD_DIR:-$(mktemp -d)}"
fuzz_s="${1:-20}"
mkdir -p "$out"
cc="${CC:-gcc}"
flags=(-std=c11 -O1 -g -Wall -Wextra -Werror -fno-omit-frame-pointer -fsanitize=address,undefined
       -fno-sanitize-recover=undefined -I"$src")
"$cc" "${flags[@]}" "$here/test_detector.c" "$src"/*.c -lm -o "$out/test_detector"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$out/test_detector"

if [ "$fuzz_s" = "0" ]; then exit 0; fi
if ! command -v clang >/dev/null 2>&1; then
    echo "clang not found: fuzzing skipped (apt-get install clang)" >&2
    exit 0
fi
clang -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$src" \
    "$here/fuzz_detector.c" "$src"/*.c -lm -o "$out/fuzz_detector"
mkdir -p "$out/corpus"
"$out/fuzz_detector" -max_total_time="$fuzz_s" -max_len=4096 -timeout=10 -print_final_stats=1 -artifact_prefix="$out/" \
    "$out/corpus" 2>"$out/fuzz.log" || { tail -50 "$out/fuzz.log" >&2; exit 1; }
grep -E "stat::number_of_executed_units|Done" "$out/fuzz.log" | head -2
echo "fuzzing ${fuzz_s}s: no crash"
