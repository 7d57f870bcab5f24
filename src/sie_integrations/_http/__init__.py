"""The HTTP layer: client options, the sync and async clients and their streams, over httpx."""
