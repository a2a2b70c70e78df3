"""Skytrail station software: capture, detection, measurement, uplink, and the simulator."""
