"""The console for product teams and operators (``/console``): server-rendered pages over the same
domain services as the JSON routes under /admin/v1 (docs/console.md)."""
from __future__ import annotations

from bff.console import bundles as _bundles  # noqa: F401  (adds its pages to bp)
from bff.console import catalog as _catalog  # noqa: F401
from bff.console import dashboard as _dashboard  # noqa: F401
from bff.console import operations as _operations  # noqa: F401
from bff.console import topics as _topics  # noqa: F401
from bff.console.pages import TEMPLATES, bp

__all__ = ["TEMPLATES", "bp"]

# Route path prefixes of pages for people rather than the API: not in the OpenAPI document
PAGES = ("docs", "console")
