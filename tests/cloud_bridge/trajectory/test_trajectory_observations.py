"""Reports -> lines of sight: the RA/Dec convention round-trips to the true geometric directions."""

import numpy as np
import pytest

from cloud_bridge.trajectory.observations import lines_of_sight_from_report
from cloud_bridge.trajectory.synthetic import synthetic_cameras, to_reports
from edge.protocol.models import FrameMeasurement


def test_report_round_trip_gives_true_lines_of_sight(plan_3st, rng):
    cams = synthetic_cameras(plan_3st, rng, noise_arcmin=0.0, clock_offsets_s={})
    reports = to_reports(cams)
    t_ref = float(np.floor(plan_3st.meteor.t_begin_unix))
    for cam, report in zip(cams, reports, strict=True):
        los = lines_of_sight_from_report(report, t_ref)
        assert los.station_id == cam.station_id and los.camera_id == cam.camera_id
        assert los.n_frames == len(cam.t_true_unix)
        np.testing.assert_allclose(los.t_s, cam.t_stamp_unix - t_ref, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(los.los_ecef, axis=1), 1.0, atol=1e-12)
        # true direction from the site to the meteor at each frame time
        true = plan_3st.meteor.position_ecef(cam.t_true_unix) - los.site_ecef_m
        true /= np.linalg.norm(true, axis=1, keepdims=True)
        err_arcsec = np.degrees(np.arccos(np.clip(np.sum(true * los.los_ecef, 1), -1, 1))) * 3600
        assert err_arcsec.max() < 0.01  # microsecond time stamps, sub-microarcsec transforms


def test_frame_without_radec_names_report_and_frame(plan_3st, rng):
    report = to_reports(synthetic_cameras(plan_3st, rng, noise_arcmin=0.0))[0]
    f = report.frames[1]
    bad = FrameMeasurement(utc=f.utc, frame_index=f.frame_index, x_px=f.x_px, y_px=f.y_px)
    broken = report.model_copy(update={"frames": [report.frames[0], bad, *report.frames[2:]]})
    with pytest.raises(ValueError, match=f"{report.observation_id}.*frame 1"):
        lines_of_sight_from_report(broken, 0.0)
