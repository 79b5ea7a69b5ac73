"""What the hub keeps of a citizen only sealed or hashed: the form they filled in (sealed in the
vault) and the reference departments know them by (not their hub identity)."""
from __future__ import annotations

import json

from domain.applications import rules
from domain.shared.vault import Vault

FORM_CONTEXT = "application.form"
PERSON_REF_CONTEXT = "application.person_ref"


def seal_form(vault: Vault, form: dict) -> str:
    return vault.seal(rules.canonical_json(form), context=FORM_CONTEXT)


def open_form(vault: Vault, sealed: str) -> dict:
    return json.loads(vault.open(sealed, context=FORM_CONTEXT))


def person_ref(vault: Vault, person_id: str) -> str:
    """Opaque and stable per person, and not the token subject: a department can link a person's
    applications without learning their hub identity."""
    return "pr_" + vault.lookup_hash(person_id, context=PERSON_REF_CONTEXT)[:32]
