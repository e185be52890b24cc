"""The edge-case world: a hand-written raw extract folder of named persons (see `world.py`)."""
