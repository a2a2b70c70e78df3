"""The Beast binary format that dump1090 serves on TCP port 30005: an incremental parser and an encoder.

A Beast frame is ``0x1a``, a type byte, a 6-byte big-endian timestamp (a free-running 12 MHz
counter of the receiver, used for multilateration, not UTC), one signal-level byte and the
Mode-S / Mode-A/C message. Types: ``'1'`` (0x31) Mode-A/C, 2 message bytes; ``'2'`` (0x32)
Mode-S short, 7 bytes; ``'3'`` (0x33) Mode-S long, 14 bytes. Every ``0x1a`` inside the
timestamp, signal or message is sent twice (``0x1a 0x1a``); a lone ``0x1a`` always starts a frame.

`BeastParser` is fed bytes as they arrive (any chunking) and returns whole frames; it skips
garbage and resynchronises on the next frame start, counts what it skipped, and never raises on
bad input. `encode_frame` writes frames (for tests, recordings and the simulator's feed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ESC = 0x1A
TYPE_MODE_AC = 0x31
TYPE_MODE_S_SHORT = 0x32
TYPE_MODE_S_LONG = 0x33
MESSAGE_BYTES = {TYPE_MODE_AC: 2, TYPE_MODE_S_SHORT: 7, TYPE_MODE_S_LONG: 14}
CLOCK_HZ = 12_000_000  # the Beast timestamp counter's rate
TIMESTAMP_MAX = 1 << 48
_MAX_BUFFER = 64 * 1024  # a stream that never completes a frame is dropped past this


@dataclass(frozen=True, slots=True)
class BeastFrame:
    """One received message: Beast type byte, 12 MHz counter value, signal byte (0-255), message bytes."""

    type_code: int
    timestamp_12mhz: int
    signal: int
    message: bytes

    @property
    def hex(self) -> str:
        """The message as upper-case hex, as pyModeS takes it."""
        return self.message.hex().upper()

    @property
    def is_mode_s(self) -> bool:
        return self.type_code in (TYPE_MODE_S_SHORT, TYPE_MODE_S_LONG)

    @property
    def timestamp_s(self) -> float:
        """The receiver counter in seconds (arbitrary origin)."""
        return self.timestamp_12mhz / CLOCK_HZ

    @property
    def signal_dbfs(self) -> float:
        """Signal level in dB full scale (dump1090 sends sqrt(power) * 255); -inf for 0."""
        return 20.0 * math.log10(self.signal / 255.0) if self.signal > 0 else -math.inf


class BeastParser:
    """Incremental Beast decoder: `feed(bytes) -> list[BeastFrame]`.

    Counters: `frames` (returned), `skipped_bytes` (garbage dropped while resynchronising),
    `broken_frames` (frames cut short by a new frame start or an unknown type byte).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.frames = 0
        self.skipped_bytes = 0
        self.broken_frames = 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[BeastFrame]:
        """Add received bytes; return every frame completed by them, in order."""
        self._buf += data
        out: list[BeastFrame] = []
        buf = self._buf
        pos = 0
        n = len(buf)
        while True:
            start = buf.find(ESC, pos)
            if start < 0:
                self.skipped_bytes += n - pos
                pos = n
                break
            self.skipped_bytes += start - pos
            if start + 1 >= n:
                pos = start  # the type byte has not arrived yet
                break
            kind = buf[start + 1]
            if kind == ESC:  # an escaped data byte seen out of sync: not a frame start
                self.skipped_bytes += 2
                pos = start + 2
                continue
            size = MESSAGE_BYTES.get(kind)
            if size is None:
                self.broken_frames += 1
                self.skipped_bytes += 1
                pos = start + 1
                continue
            body, end, broken = self._unescape(buf, start + 2, 7 + size)
            if broken:  # a lone 0x1a inside: this frame was cut short, the next one starts there
                self.broken_frames += 1
                self.skipped_bytes += end - start
                pos = end
                continue
            if body is None:
                pos = start  # incomplete: wait for more bytes
                break
            out.append(BeastFrame(kind, int.from_bytes(body[:6], "big"), body[6], bytes(body[7:])))
            pos = end
        del buf[:pos]
        if len(buf) > _MAX_BUFFER:  # cannot happen with well-formed frames; guard against junk
            self.skipped_bytes += len(buf)
            buf.clear()
        self.frames += len(out)
        return out

    @staticmethod
    def _unescape(buf: bytearray, i: int, count: int) -> tuple[bytearray | None, int, bool]:
        """Read `count` unescaped bytes from position i: (bytes or None if incomplete, end, broken)."""
        body = bytearray()
        n = len(buf)
        while len(body) < count:
            if i >= n:
                return None, i, False
            b = buf[i]
            if b == ESC:
                if i + 1 >= n:
                    return None, i, False
                if buf[i + 1] != ESC:
                    return None, i, True
                i += 2
            else:
                i += 1
            body.append(b)
        return body, i, False


def _escape(data: bytes) -> bytes:
    return data.replace(b"\x1a", b"\x1a\x1a")


def encode_frame(message: bytes | str, timestamp_12mhz: int = 0, signal: int = 0) -> bytes:
    """One Beast frame of a 2-, 7- or 14-byte message (bytes or hex), with counter and signal byte."""
    msg = bytes.fromhex(message) if isinstance(message, str) else bytes(message)
    kinds = {v: k for k, v in MESSAGE_BYTES.items()}
    if len(msg) not in kinds:
        raise ValueError(f"a Beast message has 2, 7 or 14 bytes, got {len(msg)}")
    if not 0 <= signal <= 255:
        raise ValueError(f"signal must be 0..255, got {signal}")
    body = (int(timestamp_12mhz) % TIMESTAMP_MAX).to_bytes(6, "big") + bytes([signal]) + msg
    return bytes([ESC, kinds[len(msg)]]) + _escape(body)


def timestamp_12mhz_of(t_s: float) -> int:
    """The 12 MHz counter value of a time in seconds since the counter's origin (wraps at 2**48)."""
    return int(round(t_s * CLOCK_HZ)) % TIMESTAMP_MAX
