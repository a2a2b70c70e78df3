"""The simulator as a camera: a simulated night (`edge.sim.night`) streamed frame by frame.

Frames come from `simulate_night`'s planner and renderer (stars, sky, meteors, satellites,
aircraft, ...) with their true mid-exposure UTC, so their time quality is `simulated` with zero
error. Frames are delivered in real time (`speed=1`), faster (`speed=10`) or as fast as they
render (`speed=None`). With `shift_to_now=True` the night's times are moved so that the first
frame is stamped with the wall clock's UTC (the content stays that of the configured night).

Settings: the frame rate can be lowered to the native rate divided by a whole number (frames
are dropped evenly; the frame index stays the night's, so skipped frames show as gaps);
exposure and gain scale the rendered signal above the bias (an approximation: the noise is that
of the native exposure, scaled).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from edge.camera.backend import (
    CameraBackend,
    CameraError,
    CameraInfo,
    EndOfStream,
    Frame,
    Pacer,
    TimeQualityProvider,
    decimation_step,
    simulated_time_quality,
)
from edge.sim.night import NightConfig, NightFrame, NightPlan, plan_night, render_night


class SimulatedCamera(CameraBackend):
    """A simulated night as a camera (see the module docstring)."""

    kind = "sim"

    def __init__(
        self,
        night: NightConfig | dict | None = None,
        speed: float | None = None,
        shift_to_now: bool = False,
        time_quality: TimeQualityProvider | None = None,
    ) -> None:
        super().__init__(time_quality)
        try:
            self.config = night if isinstance(night, NightConfig) else NightConfig.model_validate(night or {})
        except ValueError as exc:
            raise CameraError(f"sim camera: bad night config: {exc}") from exc
        self._pacer = Pacer(speed)
        self.shift_to_now = shift_to_now
        self.plan: NightPlan | None = None
        self._frames: Iterator[NightFrame] | None = None
        self._step = 1
        self._scale = 1.0
        self._exposure_s: float | None = None
        self._gain = 1.0
        self._shift_s: float | None = None
        self.last_truth: NightFrame | None = None  # the last frame's simulator truth (tests, demos)

    def _open(self) -> None:
        self._plan()
        self._frames = render_night(self.plan)
        self._exposure_s = self._exposure_s or self.plan.camera.profile.exposure_s
        self._pacer.reset()
        self._shift_s = None

    def _close(self) -> None:
        self._frames = None

    def _read(self, timeout_s: float | None) -> Frame:
        assert self._frames is not None and self.plan is not None
        for nf in self._frames:
            if nf.frame_index % self._step == 0:
                break
        else:
            raise EndOfStream(f"sim camera: the simulated night ended after {self.plan.n_frames} frames")
        self._pacer.wait_for(nf.t_unix, timeout_s)
        if self.shift_to_now and self._shift_s is None:
            self._shift_s = time.time() - nf.t_unix
        image = nf.frame if self._scale == 1.0 else self._scaled(nf.frame)
        self.last_truth = nf
        return Frame(
            image=image,
            utc_unix_s=nf.t_unix + (self._shift_s or 0.0),
            frame_index=nf.frame_index,
            time_quality=simulated_time_quality(),
        )

    def _scaled(self, frame: np.ndarray) -> np.ndarray:
        bias = self.plan.camera.profile.bias_adu
        out = (frame.astype(np.float32) - bias) * self._scale + bias
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    def _native_exposure_s(self) -> float:
        profile = self.plan.camera.profile if self.plan else None
        return profile.exposure_s if profile else self._exposure_s or 0.0

    def _plan(self) -> NightPlan:
        if self.plan is None:
            try:
                self.plan = plan_night(self.config)
            except ValueError as exc:
                raise CameraError(f"sim camera: {exc}") from exc
        return self.plan

    def _info(self) -> CameraInfo:
        plan = self._plan()  # the night is planned once (no frame is rendered)
        h, w = plan.camera.shape
        return CameraInfo(
            width_px=int(w),
            height_px=int(h),
            fps=plan.fps / self._step,
            model=f"simulated {self.config.profile} (binning {self.config.binning})",
            exposure_s=self._exposure_s or plan.camera.profile.exposure_s,
            gain=self._gain,
        )

    def _set_fps(self, fps: float) -> None:
        native = self.info.fps * self._step
        self._step = decimation_step(native, fps)

    def _set_exposure_s(self, exposure_s: float) -> None:
        self._exposure_s = exposure_s
        self._update_scale()

    def _set_gain(self, gain: float) -> None:
        self._gain = gain
        self._update_scale()

    def _update_scale(self) -> None:
        native = self._native_exposure_s()
        self._scale = (self._exposure_s or native) / native * self._gain
