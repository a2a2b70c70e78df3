"""The station's one config file (`station.toml`): what the supervisor, its children and the health
check read, validated with pydantic when the station starts and when the bridge pushes a new one.

Input: a TOML file written by provisioning (`edge.station.provision`), by hand, or by the `config`
fleet command (`edge.station.commands`). Every section has defaults that work; a minimal file is

    [station]
    id = "ams01"
    latitude_deg = 52.37
    longitude_deg = 4.90
    height_m = 10.0

    [[camera]]
    id = "north"
    kind = "v4l2"
    device = "/dev/video0"
    profile = "gmn-imx291-4mm"
    az_deg = 0.0
    alt_deg = 45.0

Sections: [station], [night], [uplink], [queue], [classifier], [adsb], [web], [time],
[supervisor], [capture] (detector restarts on time jumps, the star stack for calibration:
`edge.station.camera_process.LiveDetector`), [detector] and one [[camera]] table per camera.

A [[camera]] table holds the camera's `id`, the backend mapping for
`edge.camera.factory.open_camera` (`kind` = "sim" | "replay" | "v4l2" | "genicam" | "picamera2" and
that backend's keys, e.g. `device` for v4l2, `path`/`speed`/`loop` for replay, `night` for sim),
and the camera's nominal pointing and lens, where calibration starts: `profile` (a name from
`edge/camera/profiles.toml`), `binning`, `az_deg`, `alt_deg`, `roll_deg` and optionally
`focal_length_mm`. A simulated camera takes its nominal model from its simulated night and a
replayed one from its recording's meta when the pointing is left out; the others need it.
`mask` overrides the sky mask's path (default `<data_dir>/masks/<id>.png`).

`load_config(path)` raises `ConfigError` naming the file, the field path (e.g. `camera.1.az_deg`)
and what is wrong.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge.protocol.models import CAMERA_ID_PATTERN, STATION_ID_PATTERN

DEFAULT_CONFIG_PATH = Path("/data/skytrail/station.toml")
DEFAULT_DATA_DIR = Path("/data/skytrail")
POINTING_KEYS = ("profile", "binning", "az_deg", "alt_deg", "roll_deg", "focal_length_mm")


class ConfigError(ValueError):
    """The station config is not valid; the message names the file, the field and the problem."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StationSection(_Section):
    id: str = Field(pattern=STATION_ID_PATTERN, description="station id: lower-case letters, digits, '-'")
    latitude_deg: float = Field(ge=-90.0, le=90.0)
    longitude_deg: float = Field(ge=-180.0, le=180.0)
    height_m: float = Field(0.0, ge=-1000.0, le=10000.0, description="above the WGS84 ellipsoid")
    data_dir: Path = DEFAULT_DATA_DIR


class NightSection(_Section):
    sun_altitude_deg: float = Field(-12.0, ge=-24.0, le=0.0, description="detect while the Sun is below")
    always_on: bool = False


class UplinkSection(_Section):
    host: str | None = Field(None, description="MQTT broker; none: reports wait in the outbox")
    port: int = Field(1883, ge=1, le=65535)
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = None
    password_file: Path | None = None
    http_url: str | None = Field(None, description="bridge base URL for product uploads")
    enrol_token: str | None = None
    telemetry_interval_s: float = Field(60.0, gt=0.0)
    keepalive_s: int = Field(30, ge=5, le=3600)
    reconnect_max_s: float = Field(30.0, ge=1.0, le=600.0)

    @model_validator(mode="after")
    def _tls(self) -> UplinkSection:
        if self.tls and self.ca_file is None:
            raise ValueError("tls = true needs ca_file (the CA that signed the broker's certificate)")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (the station's client certificate)")
        if self.password is not None and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        return self

    def resolved_password(self) -> str | None:
        if self.password_file is not None:
            return self.password_file.read_text().strip()
        return self.password


class QueueSection(_Section):
    memory_events: int = Field(16, ge=1, le=10000, description="events held in memory before spilling")
    disk_budget_bytes: int = Field(
        4 * 1024**3, ge=1024**2, description="spill + products: oldest raw clips pruned first beyond it"
    )


class ClassifierSection(_Section):
    model: str = Field("", description="path of the .tflite model; empty: the shipped default")
    enabled: bool = True


class AdsbSection(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(30005, ge=1, le=65535)
    stale_s: float = Field(60.0, gt=0.0, description="a feed silent this long is reported degraded")


class WebSection(_Section):
    enabled: bool = True
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=1, le=65535)


class TimeSection(_Section):
    source: Literal["system", "simulated"] = Field(
        "system", description="system: chrony/gpsd (edge.timing); simulated: tests and demos"
    )
    expect_pps: bool = True


class CaptureSection(_Section):
    restart_after_gap_s: float = Field(
        5.0, gt=0.0, description="a forward jump of the frame time beyond this restarts the detector"
    )
    star_stack_frames: int = Field(256, ge=8, le=4096, description="frames summed into a star stack")
    star_stack_refresh_s: float = Field(120.0, gt=0.0, description="a new star stack starts this often")
    star_stack_min_frames: int = Field(
        64, ge=1, description="fewer frames stacked (after a start): events wait, at most hold_frames"
    )
    hold_frames: int = Field(60, ge=0, le=1000, description="longest wait of an event for the star stack")


class SupervisorSection(_Section):
    heartbeat_s: float = Field(1.0, gt=0.0, le=10.0)
    hang_timeout_s: float = Field(
        5.0, gt=0.0, le=60.0, description="a camera/uplink/web child silent this long"
    )
    start_timeout_s: float = Field(60.0, gt=0.0, description="silence allowed while a child starts")
    extractor_timeout_s: float = Field(120.0, gt=0.0, description="longest one event may take to process")
    restart_backoff_min_s: float = Field(0.5, ge=0.0)
    restart_backoff_max_s: float = Field(4.0, ge=0.0, le=8.0, description="kept under 10 s with detection")
    snapshot_interval_s: float = Field(2.0, gt=0.0, le=10.0)
    healthy_within_s: float = Field(60.0, gt=0.0, description="a pushed config must be healthy within this")
    latest_frame_interval_s: float = Field(60.0, gt=0.0)


class CameraSection(BaseModel):
    """One [[camera]] table: id, backend mapping, nominal pointing (see the module docstring)."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=CAMERA_ID_PATTERN)
    kind: Literal["sim", "replay", "v4l2", "genicam", "picamera2"]
    profile: str | None = None
    binning: int = Field(1, ge=1, le=8)
    az_deg: float | None = Field(None, ge=0.0, lt=360.0)
    alt_deg: float | None = Field(None, ge=-5.0, le=90.0)
    roll_deg: float = Field(0.0, ge=-180.0, le=180.0)
    focal_length_mm: float | None = Field(None, gt=0.0)
    mask: Path | None = None

    @field_validator("profile")
    @classmethod
    def _profile(cls, v: str | None) -> str | None:
        if v is not None:
            from edge.camera.profiles import load_profiles

            known = load_profiles()
            if v not in known:
                raise ValueError(f"unknown camera profile {v!r}; known: {', '.join(sorted(known))}")
        return v

    @model_validator(mode="after")
    def _pointing(self) -> CameraSection:
        given = [self.profile is not None, self.az_deg is not None, self.alt_deg is not None]
        if any(given) and not all(given):
            raise ValueError("the nominal pointing needs profile, az_deg and alt_deg together")
        if not any(given) and self.kind not in ("sim", "replay"):
            raise ValueError(
                f"a {self.kind} camera needs its nominal pointing and lens: profile, az_deg, alt_deg"
            )
        return self

    def backend(self) -> dict[str, Any]:
        """The mapping for `edge.camera.factory.open_camera` (kind and the backend's own keys)."""
        extra = dict(self.model_extra or {})
        return {"kind": self.kind, **extra}

    @property
    def has_pointing(self) -> bool:
        return self.profile is not None


class StationConfig(BaseModel):
    """The whole station config (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    station: StationSection
    night: NightSection = Field(default_factory=NightSection)
    uplink: UplinkSection = Field(default_factory=UplinkSection)
    queue: QueueSection = Field(default_factory=QueueSection)
    classifier: ClassifierSection = Field(default_factory=ClassifierSection)
    adsb: AdsbSection = Field(default_factory=AdsbSection)
    web: WebSection = Field(default_factory=WebSection)
    time: TimeSection = Field(default_factory=TimeSection)
    supervisor: SupervisorSection = Field(default_factory=SupervisorSection)
    capture: CaptureSection = Field(default_factory=CaptureSection)
    detector: dict[str, float | int] = Field(
        default_factory=dict, description="DetectorConfig fields to change (edge.detect.detector)"
    )
    camera: list[CameraSection] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cameras(self) -> StationConfig:
        ids = [c.id for c in self.camera]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"camera ids must be unique; repeated: {', '.join(dup)}")
        if self.detector:
            from dataclasses import fields

            from edge.detect.detector import DetectorConfig

            known = {f.name for f in fields(DetectorConfig)}
            unknown = sorted(set(self.detector) - known)
            if unknown:
                raise ValueError(f"detector: unknown setting(s) {', '.join(unknown)}")
        return self

    @property
    def data_dir(self) -> Path:
        return self.station.data_dir

    def mask_path(self, camera: CameraSection) -> Path:
        return camera.mask if camera.mask is not None else self.data_dir / "masks" / f"{camera.id}.png"


def _field_path(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def validate_config(data: dict[str, Any], source: str = "config") -> StationConfig:
    """A StationConfig from parsed TOML data; ConfigError naming `source`, the field and the problem."""
    try:
        cfg = StationConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_field_path(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None
    for i, cam in enumerate(cfg.camera):
        check_camera_backend(cam, f"{source}: camera.{i}")
    return cfg


def check_camera_backend(cam: CameraSection, where: str) -> None:
    """Build (not open) the camera's backend so unknown kinds or keys fail now, with the reason."""
    from edge.camera.backend import CameraError
    from edge.camera.factory import open_camera

    try:
        open_camera(cam.backend())
    except CameraError as exc:
        raise ConfigError(f"{where} ({cam.id}): {exc}") from None


def parse_toml(text: str, source: str = "config") -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None


def load_config(path: str | Path) -> StationConfig:
    """Read and validate a station.toml; ConfigError (file, field, problem) when it is not valid."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the station config: {exc.strerror or exc}") from None
    return validate_config(parse_toml(text, str(path)), str(path))


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes` merged in: tables merged key by key, everything else (arrays such as
    [[camera]]) replaced whole; a None value removes the key."""
    out = dict(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def dump_toml(data: dict[str, Any]) -> str:
    """TOML text of config data (paths as strings)."""
    import tomli_w

    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items() if x is not None}
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, Path):
            return str(v)
        return v

    return tomli_w.dumps(plain(data))
