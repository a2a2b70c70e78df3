"""Reports -> lines of sight: the RA/Dec convention round-trips to the true geometric directions.

The reports come from the simulator (`edge.sim.reports.reports_from_plan`: the renderer's pixel
positions through the true camera model and the simulated refraction, stamped by the station's
clock); the reference is the true track at each frame's true mid-exposure time.
"""

import numpy as np
import pytest

from cloud_bridge.trajectory.observations import lines_of_sight_from_report
from edge.protocol.models import FrameMeasurement


def test_report_round_trip_gives_true_lines_of_sight(plan_3st, sim):
    seen = sim.observe(plan_3st, 1)
    assert len({r.station_id for r in seen.reports}) == 3
    offsets = {s.station_id: s.clock_offset_s for s in plan_3st.scenario.stations}
    for report, t_true in zip(seen.reports, seen.t_true_unix, strict=True):
        assert report.refraction_applied
        los = lines_of_sight_from_report(report, seen.t_ref_unix)
        assert los.station_id == report.station_id and los.camera_id == report.camera_id
        assert los.n_frames == len(report.frames) == len(t_true)
        # the station's stamps: true time plus its clock offset (st2: 0.1 s), to the microsecond
        np.testing.assert_allclose(los.t_s, t_true + offsets[report.station_id] - seen.t_ref_unix, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(los.los_ecef, axis=1), 1.0, atol=1e-12)
        # true direction from the site to the meteor at each true frame time
        true = plan_3st.meteor.position_ecef(t_true) - los.site_ecef_m
        true /= np.linalg.norm(true, axis=1, keepdims=True)
        err_arcsec = np.degrees(np.arccos(np.clip(np.sum(true * los.los_ecef, 1), -1, 1))) * 3600
        assert err_arcsec.max() < 0.01  # refraction and camera model invert exactly; sub-mas transforms


def test_frame_without_radec_names_report_and_frame(plan_3st, sim):
    report = sim.observe(plan_3st, 2).reports[0]
    f = report.frames[1]
    bad = FrameMeasurement(utc=f.utc, frame_index=f.frame_index, x_px=f.x_px, y_px=f.y_px)
    broken = report.model_copy(update={"frames": [report.frames[0], bad, *report.frames[2:]]})
    with pytest.raises(ValueError, match=f"{report.observation_id}.*frame 1"):
        lines_of_sight_from_report(broken, 0.0)
