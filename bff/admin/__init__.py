"""Product teams and operators: ``/admin/v1`` (console sessions, accounts, audit, topics).

Every blueprint here installs ``auth.install_admin_guard``; add a new admin area by appending
its blueprint to ``BLUEPRINTS``.
"""
from __future__ import annotations

from sanic import Blueprint, Sanic

from bff.admin import accounts, audit, bundles, catalog, deliveries, search_words, session, sharing, topics
from bff.admin.auth import describe_security

# deliveries: the outbox for operators; bundles: declarations (catalog_admin) and runs (operator)
# sharing: data services and grants (operators); search words: the catalog's dictionary (catalog_admin)
BLUEPRINTS = [session.bp, accounts.bp, audit.bp, topics.bp, catalog.bp, search_words.bp, deliveries.bp,
              bundles.bp, sharing.bp]


def install(app: Sanic) -> None:
    describe_security(app)
    app.blueprint(Blueprint.group(*BLUEPRINTS, url_prefix="/admin/v1"))
