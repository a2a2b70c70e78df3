"""The `skytrail` command line, the one place that joins the station (edge) and the bridge."""

__version__ = "0.1.0"
