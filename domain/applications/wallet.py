"""The licenses module's wallet as this module's ``LicenseWallet`` port (wired in bff/container.py)."""
from __future__ import annotations

from domain.applications.ports import LicenseRef
from domain.shared.errors import DomainError


class LicenseServiceWallet:
    """A license named as a material must be in the citizen's own wallet and valid now. Listing
    the wallet reads summaries only (type and status), not the license data."""

    def __init__(self, licenses) -> None:  # domain.licenses.service.LicenseService
        self._licenses = licenses

    async def holds(self, *, person_id: str, license_id: str) -> LicenseRef | None:
        try:
            summaries = await self._licenses.wallet(person_id=person_id)
        except DomainError:  # no wallet before real name: nothing is held
            return None
        for summary in summaries:
            if summary.id == license_id and summary.status == "valid":
                return LicenseRef(license_id=summary.id, license_type=summary.type_code,
                                  title=summary.type_name)
        return None
