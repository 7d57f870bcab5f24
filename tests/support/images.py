"""The image files the image tests send: small, committed, so recorded requests match byte for byte."""

from __future__ import annotations

from pathlib import Path

IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"
RED = IMAGES / "red-square.png"
GREEN = IMAGES / "green-circle.png"
BLUE = IMAGES / "blue-square.jpg"
YELLOW = IMAGES / "yellow-circle.webp"
ALL = [RED, GREEN, BLUE, YELLOW]
