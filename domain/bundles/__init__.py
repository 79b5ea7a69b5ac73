"""One-thing bundles (一件事): declared multi-step applications across departments."""
