"""Tables of housing_fund (the schema itself is owned by Alembic)."""
from __future__ import annotations
