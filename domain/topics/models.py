"""Tables owned by topics (filled in by the catalog issue)."""
