"""Month partitions of the tables that grow without end (docs/partitions.md)."""
