"""Tables owned by regions (filled in by the catalog issue)."""
