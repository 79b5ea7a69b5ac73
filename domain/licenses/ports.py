"""What licenses need from outside the module."""
from __future__ import annotations

from typing import Protocol


class Holders(Protocol):
    """Whose wallet a logged-in person opens: their real-name ID number, or None before real name."""

    async def id_number_of(self, person_id: str) -> str | None: ...


class ApplicationMaterials(Protocol):
    """The applications module's answer to: who submitted, to this node, an application that names
    this license as a material? (A release to that node needs no separate consent.)"""

    async def applicants_naming(self, *, license_id: str, node_code: str) -> list[str]:
        """Person ids (token subjects) of the applicants; empty when none."""
        ...


class NoApplications:
    """Until the applications module is wired: no application names any license."""

    async def applicants_naming(self, *, license_id: str, node_code: str) -> list[str]:
        return []
