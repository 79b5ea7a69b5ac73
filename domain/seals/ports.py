"""What seals need from outside the module."""
from __future__ import annotations

from typing import Protocol


class LicenseTypes(Protocol):
    """The license catalog's answer to: which license types do departments of this kind issue?
    A seal may be bound only to those (a market-supervision seal never signs a resident ID card)."""

    def issued_by(self, department_kind: str) -> list[str]: ...


class NoLicenseTypes:
    """A registry that knows no license types: its seals sign none (fail closed)."""

    def issued_by(self, department_kind: str) -> list[str]:
        return []
