"""Tables owned by admin (filled in by the catalog issue)."""
