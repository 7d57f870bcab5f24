"""Texts the batching tests send."""

from __future__ import annotations

import random

CORPUS = [("word " * random.Random(i).randint(1, 60)).strip() + f" {i}" for i in range(300)]
"""300 texts of 1 to 60 words, each ending with its position: mixed lengths, in no order."""
