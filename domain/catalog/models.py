"""Tables owned by catalog (filled in by the catalog issue)."""
