"""Who reads which part of the audit trail — the one rule, for every door to it (``/admin/v1/audit``
and the console's pages alike): operators read all of it; every other admin role reads the history of
what that role changes — topic editors the topics' entries, catalog admins the matters', search
words' and bundles' — and nothing else (not logins, accounts, deliveries or data grants)."""
from __future__ import annotations

from collections.abc import Iterable

EVERYTHING = "*"
# role -> the target types it reads (EVERYTHING: every entry, unfiltered)
READS: dict[str, frozenset[str]] = {  # in domain/admin/rules.ROLES' order
    "topic_editor": frozenset({"topic"}),
    "catalog_admin": frozenset({"matter", "search_word", "bundle"}),
    "operator": frozenset({EVERYTHING}),
}


def may_read(roles: Iterable[str], target_type: str | None) -> bool:
    """Whether ``roles`` read the entries of ``target_type`` (None: the whole trail, unfiltered)."""
    scopes = set().union(*(READS.get(role, frozenset()) for role in roles))
    return EVERYTHING in scopes or (target_type is not None and target_type in scopes)


def readers_of(target_type: str | None) -> list[str]:
    """The roles that read ``target_type``'s entries, in READS' order (what a refusal names)."""
    return [role for role in READS if may_read((role,), target_type)]
