"""Message models of the wire contract between station and bridge (pydantic v2, schema version 1).

Station and bridge both import these models; nothing here is heavier than pydantic and the
standard library. Conventions (ARCHITECTURE.md, "Time" and "Coordinates and units"):

- Times are timezone-aware UTC `datetime`s with microseconds, written on the wire as ISO 8601
  with a `Z` suffix. Naive times and times with a non-zero UTC offset are rejected.
- Places are WGS84 geodetic (degrees, metres above the ellipsoid). Sky positions in reports are
  ICRS (J2000) RA/Dec in degrees; alt/az are apparent (topocentric), with the report stating
  whether refraction is included (`refraction_applied`).
- Angles are degrees, distances metres, durations seconds, unless a field's name says otherwise
  (`_arcmin`, `_bytes`, `_percent`, `_c`). Magnitudes are Johnson V unless stated.
- Every float must be finite; every model forbids unknown fields; models are frozen.
- Every top-level message carries `schema_version` and the `station_id` it concerns.

Cross-field rules the JSON Schema cannot express (UTC only, frames strictly increasing in time,
orthonormal rotation, ...) are enforced here and stated in the field descriptions.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)

from edge.protocol.errors import FieldProblem

SCHEMA_VERSION = 1
"""The schema version this software writes."""

SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1,)
"""The schema versions this software reads."""

STATION_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,31}$"
CAMERA_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
OBSERVATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
REQUEST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$"

CAMERA_DICT_KEYS = ("width_px", "height_px", "focal_px", "cx_px", "cy_px", "k1", "k2", "rotation")
"""Keys of `edge.astrometry.camera_model.CameraModel.to_dict()`, the core of CameraModelSpec."""

ROTATION_TOLERANCE = 1e-6
"""Largest |R R^T - I| element and |det R - 1| accepted for a camera rotation matrix."""


# ---------------------------------------------------------------------------------------------
# Shared field types
# ---------------------------------------------------------------------------------------------


def _require_utc(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset != timedelta(0):
        raise ValueError(f"must be UTC (offset +00:00 or 'Z'), got UTC offset {offset}")
    return value.replace(tzinfo=UTC)


def _iso(utc: datetime) -> str:
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_require_utc)]
"""A timezone-aware UTC datetime (microsecond resolution); naive or non-UTC times are rejected."""

StationId = Annotated[str, StringConstraints(pattern=STATION_ID_PATTERN)]
CameraId = Annotated[str, StringConstraints(pattern=CAMERA_ID_PATTERN)]
ShortText = Annotated[str, StringConstraints(max_length=2000)]


def check_schema_version(value: Any) -> int:
    """Return `value` if it is a schema version this software reads, else raise ValueError."""
    understood = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be an integer schema version (this software understands {understood}), "
                         f"got {value!r}")
    if value not in SUPPORTED_SCHEMA_VERSIONS:
        raise ValueError(f"unsupported schema version {value}; this software understands version(s) "
                         f"{understood}")
    return value


def _require_version_in_schema(schema: dict[str, Any]) -> None:
    """JSON Schema hook: `schema_version` has a default in Python but is required on the wire."""
    required = schema.setdefault("required", [])
    if "schema_version" not in required:
        required.insert(0, "schema_version")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Message(_Model):
    """Base of every top-level message: schema version and station id."""

    model_config = ConfigDict(json_schema_extra=_require_version_in_schema)

    schema_version: int = Field(
        SCHEMA_VERSION,
        json_schema_extra={"enum": list(SUPPORTED_SCHEMA_VERSIONS)},
        description="Version of this message schema; a message of another version is rejected. "
        "Always present on the wire.",
    )
    station_id: StationId = Field(
        description="Station the message concerns: 2 to 32 characters, lower-case letters, digits and "
        "'-', starting with a letter or digit. Must equal the station id in the MQTT topic.",
    )

    @field_validator("schema_version", mode="before")
    @classmethod
    def _check_version(cls, value: Any) -> int:
        return check_schema_version(value)


# ---------------------------------------------------------------------------------------------
# Enumerations
# ---------------------------------------------------------------------------------------------


class TimeSource(StrEnum):
    """Where the station's UTC comes from."""

    GPS_PPS = "gps-pps"
    GPS_NMEA = "gps-nmea"
    NTP = "ntp"
    FREE_RUNNING = "free-running"
    SIMULATED = "simulated"


class ClassLabel(StrEnum):
    """What the classifier says an event is."""

    METEOR = "meteor"
    SATELLITE = "satellite"
    AIRCRAFT = "aircraft"
    INSECT = "insect"
    CLOUD = "cloud"
    LIGHTNING = "lightning"
    NOISE = "noise"
    OTHER = "other"
    UNCLASSIFIED = "unclassified"


class ProductKind(StrEnum):
    """File type of a data product."""

    FITS = "fits"
    JSON = "json"
    PNG = "png"
    MP4 = "mp4"
    ECSV = "ecsv"


class StationState(StrEnum):
    """Overall state of a station, as published on its retained status topic."""

    ONLINE = "online"
    OFFLINE = "offline"
    DEGRADED = "degraded"
    DAY_IDLE = "day-idle"


class CameraState(StrEnum):
    """State of one camera's capture+detect process."""

    CAPTURING = "capturing"
    IDLE = "idle"
    STARTING = "starting"
    ERROR = "error"
    OFFLINE = "offline"


class CommandKind(StrEnum):
    """What a fleet command asks a station to do."""

    CONFIG = "config"
    CAPTURE_TEST_FRAME = "capture_test_frame"
    RESTART = "restart"
    FIRMWARE_UPDATE = "firmware_update"


# ---------------------------------------------------------------------------------------------
# Parts of messages
# ---------------------------------------------------------------------------------------------


class TimeQuality(_Model):
    """How well the station's clock, and hence every frame time, is tied to UTC."""

    source: TimeSource = Field(description="Reference the system clock is disciplined to.")
    estimated_error_s: float = Field(
        ge=0, description="Estimated error of frame UTC timestamps against true UTC, seconds (1 sigma)."
    )
    pps_locked: bool = Field(description="True when the clock is locked to a GPS pulse-per-second.")
    pps_lost: bool = Field(
        False, description="True when the station expects a GPS pulse-per-second but has lost it: the "
        "frame times are then only as good as estimated_error_s says, and observations are flagged."
    )
    offset_s: float | None = Field(
        None, description="Last measured offset of the system clock from the reference, seconds "
        "(system minus reference; positive means the system clock is ahead)."
    )
    note: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None, description="Free text, e.g. chrony's selected source."
    )

    @model_validator(mode="after")
    def _pps_needs_gps(self) -> TimeQuality:
        if self.pps_locked and self.source != TimeSource.GPS_PPS:
            raise FieldProblem(("pps_locked",), f"true requires source 'gps-pps', got source '{self.source}'")
        if self.pps_locked and self.pps_lost:
            raise FieldProblem(("pps_lost",), "cannot be true while pps_locked is true")
        return self


class CameraModelSpec(_Model):
    """JSON form of a fitted camera model: `edge.astrometry.camera_model.CameraModel.to_dict()`.

    The first eight fields are exactly `to_dict()`'s keys (see `camera_dict()`); the rest record
    the fit. Conventions (camera_model.py): the centre of the top-left pixel is (0, 0); camera
    frame +X image right, +Y image down, +Z out along the optical axis; normalised x_u = X/Z,
    r^2 = x_u^2 + y_u^2, distorted x_d = x_u (1 + k1 r^2 + k2 r^4), pixel x = cx_px + focal_px x_d.
    """

    width_px: int = Field(gt=0, description="Image width, pixels.")
    height_px: int = Field(gt=0, description="Image height, pixels.")
    focal_px: float = Field(gt=0, description="Focal length, pixels.")
    cx_px: float = Field(description="Principal point x (column), pixels; the top-left pixel's centre is 0.")
    cy_px: float = Field(description="Principal point y (row), pixels; the top-left pixel's centre is 0.")
    k1: float = Field(description="Radial distortion coefficient of r^2 (r = tan of the off-axis angle), "
                      "dimensionless.")
    k2: float = Field(description="Radial distortion coefficient of r^4 (r = tan of the off-axis angle), "
                      "dimensionless.")
    rotation: list[Annotated[list[float], Field(min_length=3, max_length=3)]] = Field(
        min_length=3, max_length=3,
        description="3x3 rotation matrix, row-major, from camera frame to local ENU: v_enu = R v_cam. "
        f"Must be orthonormal with determinant +1 to within {ROTATION_TOLERANCE:g}.",
    )
    fit_residual_arcmin: float | None = Field(None, ge=0, description="RMS star-fit residual, arcminutes.")
    n_stars: int | None = Field(None, ge=0, description="Number of catalogue stars used in the fit.")
    calibrated_at: UtcDatetime | None = Field(None, description="UTC of the frames the model was fitted on.")

    @field_validator("rotation")
    @classmethod
    def _orthonormal(cls, rows: list[list[float]]) -> list[list[float]]:
        worst = max(
            abs(sum(rows[i][k] * rows[j][k] for k in range(3)) - (1.0 if i == j else 0.0))
            for i in range(3) for j in range(3)
        )
        if worst > ROTATION_TOLERANCE:
            raise ValueError(f"not orthonormal: max |R R^T - I| = {worst:.3g} > {ROTATION_TOLERANCE:g}")
        (a, b, c), (d, e, f), (g, h, i) = rows
        det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
        if abs(det - 1.0) > ROTATION_TOLERANCE:
            raise ValueError(f"determinant is {det:.6g}, not +1 (a reflection, not a rotation)")
        return rows

    def camera_dict(self) -> dict[str, Any]:
        """The `CameraModel.to_dict()` form (the eight model keys only), for `CameraModel.from_dict`."""
        return self.model_dump(include=set(CAMERA_DICT_KEYS))


class Location(_Model):
    """A station's place: WGS84 geodetic."""

    lat_deg: float = Field(ge=-90, le=90, description="Geodetic latitude, degrees north.")
    lon_deg: float = Field(ge=-180, le=180, description="Longitude, degrees east.")
    height_m: float = Field(ge=-1000, le=10000, description="Height above the WGS84 ellipsoid, metres.")


class FrameMeasurement(_Model):
    """The meteor's position (and brightness) in one video frame."""

    utc: UtcDatetime = Field(description="UTC at the middle of the frame's exposure (ISO 8601, 'Z').")
    frame_index: int = Field(ge=0, description="Frame number in the camera's stream; gaps mean dropped "
                             "or unmeasured frames.")
    x_px: float | None = Field(None, description="Centroid column, pixels (the top-left pixel's centre is "
                               "(0, 0)); absent only for data imported from sources that give sky positions "
                               "alone.")
    y_px: float | None = Field(
        None, description="Centroid row, pixels (the top-left pixel's centre is (0, 0))."
    )
    ra_deg: float | None = Field(None, ge=0, lt=360, description="Right ascension, ICRS (J2000), degrees.")
    dec_deg: float | None = Field(None, ge=-90, le=90, description="Declination, ICRS (J2000), degrees.")
    alt_deg: float | None = Field(None, ge=-90, le=90, description="Apparent altitude, degrees; includes "
                                  "refraction when the report's refraction_applied is true.")
    az_deg: float | None = Field(None, ge=0, lt=360, description="Apparent azimuth, degrees east of north.")
    position_sigma_arcmin: float | None = Field(None, ge=0, description="1-sigma position uncertainty on "
                                                "the sky, arcminutes.")
    flux_adu: float | None = Field(None, description="Background-subtracted integrated flux in this frame, "
                                   "ADU (may be slightly negative for faint frames).")
    mag: float | None = Field(None, description="Apparent V magnitude.")
    mag_sigma: float | None = Field(None, ge=0, description="1-sigma uncertainty of mag, magnitudes.")
    saturated: bool | None = Field(None, description="True when any pixel of the meteor saturated.")

    @model_validator(mode="after")
    def _pairs(self) -> FrameMeasurement:
        for a, b in (("x_px", "y_px"), ("ra_deg", "dec_deg"), ("alt_deg", "az_deg")):
            if (getattr(self, a) is None) != (getattr(self, b) is None):
                missing = a if getattr(self, a) is None else b
                raise FieldProblem((missing,), f"{a} and {b} must be given together")
        if self.mag_sigma is not None and self.mag is None:
            raise FieldProblem(("mag_sigma",), "given without mag")
        if self.x_px is None and self.ra_deg is None:
            raise FieldProblem(("x_px",), "a frame needs a position: x_px/y_px, ra_deg/dec_deg or both")
        return self


class Photometry(_Model):
    """Photometric calibration used for the frames' magnitudes.

    V = zero_point - 2.5 log10(flux_adu) - extinction_coeff * X + colour_term * (B - V),
    with X the airmass; for meteors the colour term is applied with B - V = 0.
    """

    zero_point: float = Field(description="Zero point, V magnitudes (magnitude of 1 ADU per frame above "
                              "the atmosphere).")
    extinction_coeff: float = Field(ge=0, description="Extinction coefficient, magnitudes per airmass.")
    colour_term: float = Field(description="Colour term, magnitudes per magnitude of B - V.")
    n_stars: int = Field(ge=0, description="Number of calibration stars.")
    rms_mag: float = Field(ge=0, description="RMS residual of the calibration stars, magnitudes.")


class PeakPixel(_Model):
    """A pixel position."""

    x_px: float = Field(description="Column, pixels (the top-left pixel's centre is (0, 0)).")
    y_px: float = Field(description="Row, pixels (the top-left pixel's centre is (0, 0)).")


class Classification(_Model):
    """The classifier's verdict on the event."""

    label: ClassLabel = Field(description="Most likely class.")
    score: float | None = Field(None, ge=0, le=1, description="Probability of `label`, 0 to 1; required "
                                "unless label is 'unclassified'.")
    model_version: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        None, description="Identifier of the classifier model (e.g. file name and hash)."
    )
    peak_pixel: PeakPixel | None = Field(None, description="Peak of the Grad-CAM saliency map, pixels.")
    reason: ShortText | None = Field(None, description="Why the event was not classified; required when "
                                     "label is 'unclassified'.")

    @model_validator(mode="after")
    def _label_rules(self) -> Classification:
        if self.label == ClassLabel.UNCLASSIFIED:
            if not self.reason:
                raise FieldProblem(("reason",), "required when label is 'unclassified'")
        elif self.score is None:
            raise FieldProblem(("score",), f"required when label is '{self.label}'")
        return self


class AircraftMatch(_Model):
    """An ADS-B aircraft that explains the event."""

    icao24: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{6}$")] = Field(
        description="ICAO 24-bit address, 6 lower-case hex digits."
    )
    callsign: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,8}$")] | None = Field(
        None, description="Flight callsign, 1 to 8 upper-case letters and digits, no padding."
    )
    distance_m: float = Field(ge=0, description="Slant range from the station to the aircraft at the "
                              "matched time, metres.")
    residual_deg: float = Field(ge=0, description="Mean angular distance between the event's track and "
                                "the aircraft's predicted positions, degrees.")


class Product(_Model):
    """A file made for the event (uploaded over HTTP, referenced here)."""

    kind: ProductKind = Field(description="File type.")
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")] = Field(
        description="File name, without directories."
    )
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="SHA-256 of the file's bytes, 64 lower-case hex digits."
    )
    size_bytes: int = Field(ge=0, description="File size, bytes.")
    url: Annotated[str, StringConstraints(pattern=r"^(https?|s3)://\S+$", max_length=2048)] | None = Field(
        None, description="Where the file can be fetched (http, https or s3 URL), once uploaded."
    )


class DetectorInfo(_Model):
    """What the on-station detector measured for the event."""

    peak_mag: float | None = Field(None, description="Brightest apparent V magnitude along the track.")
    angular_speed_deg_s: float | None = Field(None, ge=0, description="Mean angular speed, degrees per "
                                              "second.")
    n_frames: int | None = Field(None, ge=1, description="Number of frames the detector tracked the "
                                 "event in.")


class CameraStatus(_Model):
    """State of one camera, part of a station's status."""

    camera_id: CameraId = Field(description="Camera identifier within the station.")
    state: CameraState = Field(description="State of the camera's capture+detect process.")
    message: ShortText | None = Field(None, description="Detail, e.g. the last error.")


class CameraTelemetry(_Model):
    """Counters of one camera, part of telemetry."""

    camera_id: CameraId = Field(description="Camera identifier within the station.")
    fps: float = Field(ge=0, description="Frames captured per second, averaged since the last telemetry.")
    dropped_frames: int = Field(ge=0, description="Frames dropped since the capture process started.")


# ---------------------------------------------------------------------------------------------
# Top-level messages
# ---------------------------------------------------------------------------------------------


class ObservationReport(_Message):
    """One event seen by one camera of one station: times, positions, brightness, and context.

    Published on `skytrail/v1/{station_id}/obs` with QoS 1; the bridge stores it idempotently by
    `observation_id`. Large files travel over HTTP and are referenced in `products`.
    """

    observation_id: Annotated[str, StringConstraints(pattern=OBSERVATION_ID_PATTERN)] = Field(
        description="Globally unique id: starts with '{station_id}-'; see make_observation_id(). "
        "Letters, digits, '.', '_', '-'; at most 128 characters."
    )
    camera_id: CameraId = Field(description="Camera identifier within the station.")
    location: Location = Field(description="Where the camera is.")
    created_utc: UtcDatetime = Field(description="UTC when this report was made.")
    time_quality: TimeQuality = Field(description="Quality of the frame timestamps.")
    camera_model: CameraModelSpec | None = Field(None, description="Camera model used for the "
                                                 "astrometry, if any.")
    frames: list[FrameMeasurement] = Field(
        min_length=2,
        description="Measurements, one per frame: at least 2, utc strictly increasing, frame_index "
        "strictly increasing.",
    )
    refraction_applied: bool = Field(description="True when alt_deg includes atmospheric refraction "
                                     "(apparent), false when it is the geometric (airless) altitude.")
    photometry: Photometry | None = Field(None, description="Calibration behind the frames' mag values.")
    classification: Classification | None = Field(None, description="Classifier verdict.")
    aircraft: AircraftMatch | None = Field(None, description="ADS-B aircraft matching the event.")
    products: list[Product] = Field(default_factory=list, description="Files made for the event; names "
                                    "unique.")
    detector: DetectorInfo | None = Field(None, description="Detector's own summary of the event.")

    @model_validator(mode="after")
    def _consistent(self) -> ObservationReport:
        if not self.observation_id.startswith(f"{self.station_id}-"):
            raise FieldProblem(("observation_id",), f"must start with the station id '{self.station_id}-'")
        for i in range(1, len(self.frames)):
            prev, cur = self.frames[i - 1], self.frames[i]
            if cur.utc <= prev.utc:
                raise FieldProblem(("frames", i, "utc"), f"must be after frames[{i - 1}].utc "
                                   f"(got {_iso(cur.utc)}, frames[{i - 1}].utc is {_iso(prev.utc)})")
            if cur.frame_index <= prev.frame_index:
                raise FieldProblem(("frames", i, "frame_index"), f"must be greater than "
                                   f"frames[{i - 1}].frame_index ({cur.frame_index} <= {prev.frame_index})")
        seen: dict[str, int] = {}
        for i, product in enumerate(self.products):
            if product.name in seen:
                first = seen[product.name]
                raise FieldProblem(("products", i, "name"), f"duplicate of products[{first}].name "
                                   f"'{product.name}'")
            seen[product.name] = i
        return self


class StationStatus(_Message):
    """A station's state; retained on `skytrail/v1/{station_id}/status`, last will `offline`."""

    state: StationState = Field(description="Overall state.")
    software_version: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="Version of the station software."
    )
    utc: UtcDatetime = Field(description="UTC when the status was set (for the last will: when the "
                             "station connected).")
    message: ShortText | None = Field(None, description="Detail for people, e.g. why degraded.")
    cameras: list[CameraStatus] = Field(default_factory=list, description="Per-camera state.")


class Telemetry(_Message):
    """Periodic health figures of a station (`skytrail/v1/{station_id}/telemetry`)."""

    utc: UtcDatetime = Field(description="UTC of the measurement.")
    cpu_percent: float = Field(ge=0, le=100, description="CPU use of the whole machine, percent of all "
                               "cores.")
    mem_percent: float = Field(ge=0, le=100, description="Memory in use, percent.")
    disk_free_bytes: int = Field(ge=0, description="Free space on the data partition, bytes.")
    temperature_c: float | None = Field(None, ge=-100, le=200, description="SoC/CPU temperature, degrees "
                                        "Celsius.")
    cameras: list[CameraTelemetry] = Field(default_factory=list, description="Per-camera counters.")
    time_quality: TimeQuality = Field(description="Current time quality.")
    queue_depth: int = Field(ge=0, description="Events waiting for the extractor.")
    outbox_depth: int = Field(ge=0, description="Messages waiting in the outbox for the broker.")


class Command(_Message):
    """A fleet command from the bridge to a station (`skytrail/v1/{station_id}/cmd`, not retained).

    `args` by kind: config: the settings to change (merged into the station config);
    capture_test_frame: optional `camera_id`, `exposure_s`; restart: optional `component`;
    firmware_update: `url` and `sha256` of the RAUC bundle.
    """

    request_id: Annotated[str, StringConstraints(pattern=REQUEST_ID_PATTERN)] = Field(
        description="Unique id echoed in the CommandResult (e.g. a UUID4 in hex; see new_request_id()): "
        "8 to 64 letters, digits, '_' or '-'."
    )
    kind: CommandKind = Field(description="What to do.")
    args: dict[str, JsonValue] = Field(default_factory=dict, description="Arguments, by kind (see above).")
    issued_utc: UtcDatetime = Field(description="UTC when the bridge issued the command.")
    expires_utc: UtcDatetime | None = Field(None, description="UTC after which the station must not act "
                                            "on the command; after issued_utc.")

    @model_validator(mode="after")
    def _expiry(self) -> Command:
        if self.expires_utc is not None and self.expires_utc <= self.issued_utc:
            raise FieldProblem(("expires_utc",), "must be after issued_utc")
        if self.kind == CommandKind.FIRMWARE_UPDATE:
            for key in ("url", "sha256"):
                if not isinstance(self.args.get(key), str):
                    raise FieldProblem(("args", key), "firmware_update needs a string 'url' and 'sha256'")
        return self


class CommandResult(_Message):
    """A station's answer to a Command (`skytrail/v1/{station_id}/cmd/result`)."""

    request_id: Annotated[str, StringConstraints(pattern=REQUEST_ID_PATTERN)] = Field(
        description="The request_id of the command answered."
    )
    ok: bool = Field(description="True when the command was carried out.")
    message: ShortText = Field(description="What happened, for people.")
    data: dict[str, JsonValue] | None = Field(None, description="Result data, e.g. a test frame's URL.")
    utc: UtcDatetime = Field(description="UTC when the command finished (or failed).")


MESSAGE_MODELS: tuple[type[_Message], ...] = (
    ObservationReport, StationStatus, Telemetry, Command, CommandResult,
)
"""The top-level message models, one per topic kind."""


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def make_observation_id(station_id: str, camera_id: str, utc: datetime, n: int) -> str:
    """A globally unique observation id: `{station_id}-{camera_id}-{YYYYMMDDThhmmss.mmm}Z-{n}`.

    `utc` is the event's first frame time (aware, UTC); `n` a per-camera event counter (>= 0)
    that separates events starting in the same millisecond.
    """
    if not re.fullmatch(STATION_ID_PATTERN, station_id):
        raise ValueError(f"station_id: {station_id!r} does not match {STATION_ID_PATTERN}")
    if not re.fullmatch(CAMERA_ID_PATTERN, camera_id):
        raise ValueError(f"camera_id: {camera_id!r} does not match {CAMERA_ID_PATTERN}")
    if utc.tzinfo is None or utc.utcoffset() != timedelta(0):
        raise ValueError(f"utc: must be an aware UTC datetime, got {utc!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n: must be a non-negative integer, got {n!r}")
    stamp = utc.strftime("%Y%m%dT%H%M%S") + f".{utc.microsecond // 1000:03d}Z"
    return f"{station_id}-{camera_id}-{stamp}-{n}"


def new_request_id() -> str:
    """A fresh command request id (UUID4, 32 hex digits)."""
    return uuid.uuid4().hex
