"""Version of sie-integrations."""

__version__ = "0.1.0"
"""The installed version of sie-integrations."""
