"""Who reads which part of the audit trail (domain/audit/rules.py): the one rule of both doors."""
from __future__ import annotations

import pytest

from domain.admin.rules import ROLES
from domain.audit import rules


@pytest.mark.parametrize(("roles", "target_type", "allowed"), [
    (("operator",), None, True), (("operator",), "admin_account", True), (("operator",), "topic", True),
    (("topic_editor",), "topic", True), (("topic_editor",), None, False), (("topic_editor",), "matter", False),
    (("topic_editor",), "admin_account", False), (("topic_editor",), "*", False),
    (("catalog_admin",), "matter", True), (("catalog_admin",), "search_word", True),
    (("catalog_admin",), "bundle", True), (("catalog_admin",), "topic", False), (("catalog_admin",), None, False),
    (("topic_editor", "catalog_admin"), "bundle", True), (("topic_editor", "catalog_admin"), "delivery", False),
    ((), "topic", False), (("root",), None, False),
])
def test_each_role_reads_the_history_of_what_it_changes(roles, target_type, allowed):
    assert rules.may_read(roles, target_type) is allowed


def test_every_admin_role_has_its_part_and_a_refusal_names_who_may():
    assert tuple(rules.READS) == ROLES
    assert rules.readers_of(None) == ["operator"] and rules.readers_of("delivery") == ["operator"]
    assert rules.readers_of("topic") == ["topic_editor", "operator"]
    assert rules.readers_of("search_word") == ["catalog_admin", "operator"]
