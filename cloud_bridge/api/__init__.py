"""The bridge's REST API (FastAPI): stations, observations, events with their trajectories and
orbits, the radiant list, showers, and rejected messages, read from the store with token roles.

    from cloud_bridge.api import ApiSettings, create_app
    app = create_app(store, ApiSettings.from_env())
"""

from cloud_bridge.api.app import create_app
from cloud_bridge.api.config import ApiSettings, Role, TokenSpec, hash_token

__all__ = ["ApiSettings", "Role", "TokenSpec", "create_app", "hash_token"]
