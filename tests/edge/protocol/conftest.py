"""Sample messages for the wire-contract tests: one full and one minimal instance of each kind."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from edge.protocol import (
    AircraftMatch,
    CameraModelSpec,
    CameraStatus,
    CameraTelemetry,
    Classification,
    Command,
    CommandResult,
    DetectorInfo,
    FrameMeasurement,
    Location,
    ObservationReport,
    PeakPixel,
    Photometry,
    Product,
    StationStatus,
    Telemetry,
    TimeQuality,
    make_observation_id,
)

T0 = datetime(2024, 8, 12, 21, 30, 45, 123456, tzinfo=UTC)
STATION = "ams01"


def rotation_z(angle_deg: float) -> list[list[float]]:
    """A proper rotation about +Z (row-major)."""
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    return [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]


def _time_quality() -> TimeQuality:
    return TimeQuality(source="gps-pps", estimated_error_s=2e-6, pps_locked=True, offset_s=-1.5e-7,
                       note="chrony: PPS selected")


def full_report(n_frames: int = 5) -> ObservationReport:
    frames = [
        FrameMeasurement(
            utc=T0 + timedelta(microseconds=33_333 * i), frame_index=100 + i, x_px=640.25 + 7.1 * i,
            y_px=360.5 - 3.3 * i, ra_deg=45.0 + 1e-3 * i, dec_deg=30.0 - 5e-4 * i, alt_deg=52.0 + 1e-3 * i,
            az_deg=359.5, position_sigma_arcmin=0.3, flux_adu=1234.5 - 10 * i, mag=1.2 + 0.01 * i,
            mag_sigma=0.05, saturated=i == 2,
        )
        for i in range(n_frames)
    ]
    return ObservationReport(
        station_id=STATION,
        observation_id=make_observation_id(STATION, "cam1", T0, 7),
        camera_id="cam1",
        location=Location(lat_deg=52.3676, lon_deg=4.9041, height_m=12.5),
        created_utc=T0 + timedelta(seconds=40),
        time_quality=_time_quality(),
        camera_model=CameraModelSpec(
            width_px=1280, height_px=720, focal_px=1100.5, cx_px=639.5, cy_px=359.5, k1=-0.12, k2=0.01,
            rotation=rotation_z(30.0), fit_residual_arcmin=0.28, n_stars=85, calibrated_at=T0,
        ),
        frames=frames,
        refraction_applied=True,
        photometry=Photometry(zero_point=12.1, extinction_coeff=0.25, colour_term=-0.05, n_stars=60,
                              rms_mag=0.14),
        classification=Classification(label="meteor", score=0.97, model_version="resnet18-int8-abc123",
                                      peak_pixel=PeakPixel(x_px=650.0, y_px=355.0)),
        aircraft=AircraftMatch(icao24="4ca7b2", callsign="KLM1234", distance_m=10500.0, residual_deg=0.4),
        products=[
            Product(kind="fits", name="ams01-cam1-0007.fits", sha256="ab" * 32, size_bytes=2_000_000,
                    url="https://bridge.example.org/files/ams01-cam1-0007.fits"),
            Product(kind="mp4", name="ams01-cam1-0007.mp4", sha256="cd" * 32, size_bytes=500_000),
        ],
        detector=DetectorInfo(peak_mag=1.1, angular_speed_deg_s=12.5, n_frames=n_frames),
    )


def minimal_report() -> ObservationReport:
    return ObservationReport(
        station_id=STATION,
        observation_id=f"{STATION}-cam2-1",
        camera_id="cam2",
        location=Location(lat_deg=-33.9, lon_deg=-70.7, height_m=0.0),
        created_utc=T0,
        time_quality=TimeQuality(source="ntp", estimated_error_s=0.01, pps_locked=False),
        frames=[FrameMeasurement(utc=T0, frame_index=0, x_px=1.0, y_px=2.0),
                FrameMeasurement(utc=T0 + timedelta(microseconds=1), frame_index=1, x_px=1.5, y_px=2.5)],
        refraction_applied=False,
    )


def full_status() -> StationStatus:
    return StationStatus(station_id=STATION, state="degraded", software_version="0.1.0", utc=T0,
                         message="camera cam2 stalled",
                         cameras=[CameraStatus(camera_id="cam1", state="capturing"),
                                  CameraStatus(camera_id="cam2", state="error",
                                               message="no frames for 10 s")])


def full_telemetry() -> Telemetry:
    return Telemetry(station_id=STATION, utc=T0, cpu_percent=37.5, mem_percent=61.0,
                     disk_free_bytes=12_345_678_901, temperature_c=55.2,
                     cameras=[CameraTelemetry(camera_id="cam1", fps=29.97, dropped_frames=3)],
                     time_quality=_time_quality(), queue_depth=2, outbox_depth=0)


def full_command() -> Command:
    return Command(station_id=STATION, request_id="0f8e5d7c9b2a4e6f8a1b3c5d7e9f0a1b", kind="firmware_update",
                   args={"url": "https://bridge.example.org/fw/1.2.raucb", "sha256": "ef" * 32,
                         "nested": {"list": [1, 2.5, None, True, "x"]}},
                   issued_utc=T0, expires_utc=T0 + timedelta(hours=1))


def full_command_result() -> CommandResult:
    return CommandResult(station_id=STATION, request_id="0f8e5d7c9b2a4e6f8a1b3c5d7e9f0a1b", ok=False,
                         message="bundle signature check failed", data={"exit_code": 1, "log": ["a", "b"]},
                         utc=T0 + timedelta(minutes=2))


def all_messages() -> dict[str, object]:
    """Named sample messages covering every top-level model, full and minimal."""
    return {
        "report-full": full_report(),
        "report-minimal": minimal_report(),
        "status-full": full_status(),
        "status-minimal": StationStatus(station_id=STATION, state="online", software_version="0.1.0", utc=T0),
        "telemetry-full": full_telemetry(),
        "telemetry-minimal": Telemetry(station_id=STATION, utc=T0, cpu_percent=0, mem_percent=100,
                                       disk_free_bytes=0, time_quality=_time_quality(), queue_depth=0,
                                       outbox_depth=0),
        "command-full": full_command(),
        "command-minimal": Command(station_id=STATION, request_id="req-00000001", kind="restart",
                                   issued_utc=T0),
        "result-full": full_command_result(),
        "result-minimal": CommandResult(station_id=STATION, request_id="req-00000001", ok=True, message="",
                                        utc=T0),
    }


@pytest.fixture
def messages() -> dict[str, object]:
    return all_messages()


@pytest.fixture
def report() -> ObservationReport:
    return full_report()


@pytest.fixture
def minimal() -> ObservationReport:
    return minimal_report()


@pytest.fixture
def report_factory():
    """full_report(n_frames) for tests that need a report of a given length."""
    return full_report
