"""Data sharing (一网通享): the catalog of departments' data services, grants, the exchange, the message log, identity verifications and the citizen's data tracker (docs/sharing.md)."""
