"""Skytrail cloud bridge: ingest, correlation, trajectories, orbits, showers, fleet, API."""
