"""Where uploaded application materials are kept (the ``MaterialStore`` port)."""
