"""The journeys share one seeded hub, ``live_hub`` (tests/conftest.py, shared with the browser
tests); each brings its own department stub and points its nodes at it."""
