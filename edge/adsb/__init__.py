"""ADS-B on a station: which aircraft was where a slow object was seen.

dump1090's Beast feed (TCP 30005) -> `beast` (frame parser) -> `receiver` (TCP reader, status,
recording) -> `decode` (pyModeS: positions, callsigns, heights) -> `tracks` (per-aircraft
window, SQLite, interpolation) -> `match` (project onto an event, `AircraftMatch`).
`encode` writes ADS-B messages (simulator, tests); `evaluate` scores the chain on simulated nights.
"""
