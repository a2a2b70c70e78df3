"""Beast frame parser and encoder: escapes, every message type, truncation, garbage, chunking."""

import numpy as np
import pytest

from edge.adsb.beast import (
    CLOCK_HZ,
    TYPE_MODE_AC,
    TYPE_MODE_S_LONG,
    TYPE_MODE_S_SHORT,
    BeastParser,
    encode_frame,
    timestamp_12mhz_of,
)

LONG = "8D406B902015A678D4D220AA4BDA"
SHORT = "5D406B90B6F0E1"
MODE_AC = "1A2B"  # contains 0x1a: escaped on the wire


def test_every_message_type_round_trips_with_timestamp_and_signal():
    data = (
        encode_frame(LONG, 123456789, 200)
        + encode_frame(SHORT, 5, 7)
        + encode_frame(MODE_AC, (1 << 48) - 1, 255)
    )
    frames = BeastParser().feed(data)
    assert [f.type_code for f in frames] == [TYPE_MODE_S_LONG, TYPE_MODE_S_SHORT, TYPE_MODE_AC]
    assert [f.hex for f in frames] == [LONG, SHORT, MODE_AC]
    assert [f.timestamp_12mhz for f in frames] == [123456789, 5, (1 << 48) - 1]
    assert [f.signal for f in frames] == [200, 7, 255]
    assert frames[0].is_mode_s and not frames[2].is_mode_s
    assert frames[0].timestamp_s == pytest.approx(123456789 / CLOCK_HZ)
    assert frames[2].signal_dbfs == 0.0 and frames[1].signal_dbfs < -30


def test_escapes_in_timestamp_signal_and_message_are_doubled_and_undone():
    ts = 0x1A1A00001A1A  # 0x1a bytes inside the timestamp
    raw = encode_frame(MODE_AC, ts, 0x1A)
    # 2 header bytes + 6 timestamp + 1 signal + 2 message, plus one extra byte per 0x1a
    assert len(raw) == 2 + 9 + 4 + 1 + 1
    assert raw[2:4] == b"\x1a\x1a"
    (frame,) = BeastParser().feed(raw)
    assert frame.timestamp_12mhz == ts and frame.signal == 0x1A and frame.hex == MODE_AC


def test_byte_by_byte_feeding_gives_the_same_frames():
    data = b"".join(encode_frame(LONG, 0x1A1A1A * k, k % 256) for k in range(50))
    parser = BeastParser()
    frames = [f for b in data for f in parser.feed(bytes([b]))]
    assert len(frames) == 50
    assert [f.timestamp_12mhz for f in frames] == [0x1A1A1A * k for k in range(50)]
    assert parser.skipped_bytes == 0 and parser.broken_frames == 0


def test_garbage_between_frames_is_skipped_and_counted():
    garbage = b"\x00\xff\x1a\x1a\x13\x37hello"
    data = garbage + encode_frame(LONG, 1, 1) + garbage + encode_frame(SHORT, 2, 2) + b"\x1a\x39xyz"
    parser = BeastParser()
    frames = parser.feed(data)
    assert [f.hex for f in frames] == [LONG, SHORT]
    assert parser.skipped_bytes >= 2 * len(garbage)
    assert parser.broken_frames == 1  # the unknown type byte 0x39


def test_truncated_frame_is_dropped_and_the_next_frame_recovered():
    cut = encode_frame(LONG, 99, 9)[:12]  # stops mid-message; a new frame starts right after
    parser = BeastParser()
    frames = parser.feed(cut + encode_frame(SHORT, 3, 3))
    assert [f.hex for f in frames] == [SHORT]
    assert parser.broken_frames == 1


def test_incomplete_frame_waits_for_more_bytes():
    raw = encode_frame(LONG, 0x1A, 1)
    parser = BeastParser()
    for split in (1, 2, 3, len(raw) - 1):
        parser = BeastParser()
        assert parser.feed(raw[:split]) == []
        assert [f.hex for f in parser.feed(raw[split:])] == [LONG]


def test_random_bytes_never_crash_and_real_frames_survive():
    rng = np.random.default_rng(5)
    parser = BeastParser()
    good = 0
    for _ in range(300):
        junk = rng.integers(0, 256, int(rng.integers(0, 40)), dtype=np.uint8).tobytes()
        junk = junk.replace(b"\x1a", b"")  # keep junk from swallowing the next frame's start
        frames = parser.feed(junk + encode_frame(LONG, int(rng.integers(1 << 48)), 5))
        good += sum(f.hex == LONG for f in frames)
    assert good == 300
    # pure noise (with frame-start bytes) never raises and returns only well-formed frames
    noise = rng.integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    for k in range(0, len(noise), 997):
        for f in parser.feed(noise[k : k + 997]):
            assert len(f.message) in (2, 7, 14) and 0 <= f.signal <= 255


def test_encoder_rejects_bad_input():
    with pytest.raises(ValueError, match="2, 7 or 14 bytes"):
        encode_frame("00112233")
    with pytest.raises(ValueError, match="signal"):
        encode_frame(LONG, 0, 300)
    assert timestamp_12mhz_of(1.5) == 18_000_000
