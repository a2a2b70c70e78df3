"""The station's local web page: `create_app(data_dir, station_config_path)` (see `edge.web.app`)."""

from edge.web.app import create_app

__all__ = ["create_app"]
