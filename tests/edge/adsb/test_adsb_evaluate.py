"""The ADS-B chain on a short simulated night: aircraft crossings tagged, meteors never."""

from edge.adsb.evaluate import evaluate_adsb


def test_short_night_tags_aircraft_and_no_meteor():
    r = evaluate_adsb(seed=5, nights=1, duration_s=150.0, aircraft_per_hour=360.0, meteor_rate_per_hour=600.0)
    assert r["aircraft_crossings"] >= 8 and r["meteors"] >= 10
    assert r["tagged_fraction"] >= 0.99 and r["wrong_aircraft"] == 0
    assert r["segment_tagged_fraction"] >= 0.9
    assert r["meteors_mis_tagged"] == 0
    assert r["meteors_on_aircraft"] == r["aircraft_crossings"] and r["meteors_on_aircraft_mis_tagged"] == 0
    # 1 px detector noise on a ~0.11 deg/px camera: residuals of that order, not degrees
    assert 0.03 < r["median_match_residual_deg"] < 0.3
    assert r["positions_decoded"] > 0.3 * r["messages_decoded"]
