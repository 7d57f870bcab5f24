"""The protocol core: request building, response parsing, error mapping, retry decisions and stream reading.

Pure: no I/O, no httpx, no framework.
"""
