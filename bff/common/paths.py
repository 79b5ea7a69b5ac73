"""Every path parameter's shape, in one table: what the router matches and what the OpenAPI says.

A route names its parameter by shape (``/applications/<number:application_number>``); ``install``
registers each shape with the router before any blueprint, so an id of the wrong shape never reaches
a handler: it is a 404 ``route_not_found`` like any address that does not exist, never a database
error (a 40-character id once met a 32-character column: Tortoise's ValidationError, a 500; a huge
integer met a BIGINT: OverflowError). ``bff/common/openapi.py`` documents each parameter from here.

A text id is a token of letters, digits, ``.``, ``_`` and ``-`` (starting with a letter or digit)
no longer than the column that holds it: the router bounds it, the domain still decides whether it
exists and whether it is well formed (an application number of the right length that was never
issued is the domain's 404 ``application_not_found``; a region code with a letter its 400).
Percent-encoded text never matches: the router sees the encoded form (``%E4%B8%AD``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sanic import Sanic

INT64_DIGITS = 18  # every 18-digit number fits a BIGINT; the 19-digit ones may not


@dataclass(frozen=True)
class PathShape:
    label: str  # the router's type name, used in route paths
    max_length: int  # the column's width (digits for an integer)
    description: str
    example: str
    integer: bool = False

    @property
    def pattern(self) -> str:
        if self.label == "path":  # several segments: anything but an empty tail
            return rf"^[^?#]{{1,{self.max_length}}}$"
        if self.integer:
            return rf"^[0-9]{{1,{self.max_length}}}$"
        return rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{self.max_length - 1}}}$"

    def schema(self) -> dict:
        """The parameter's schema in the OpenAPI document."""
        if self.integer:
            return {"type": "integer", "format": "int64", "minimum": 0, "maximum": 10**self.max_length - 1,
                    "example": int(self.example)}
        return {"type": "string", "pattern": self.pattern, "minLength": 1, "maxLength": self.max_length,
                "example": self.example}

    def cast(self):
        """The router's check: sanic-routing tries the cast on the segment; ValueError means no match.
        Its name is a global of the generated router source, so it is unique per shape."""
        matcher = re.compile(self.pattern)
        convert = int if self.integer else str

        def match(segment: str):
            if not matcher.fullmatch(segment):
                raise ValueError(segment)
            return convert(segment)

        match.__name__ = f"govhub_path_{self.label}"
        return match


SHAPES = {shape.label: shape for shape in (
    PathShape("application_number", 32, "an application's number (办件编号): region, Beijing date, sequence",
              "330106-20261127-000123"),
    PathShape("material_id", 32, "an uploaded material's id", "m_4f1c2d3e4a5b6c7d8e9f0a1b"),
    PathShape("bundle_run_number", 32, "a bundle's run number (一件事编号)", "B330106-20261127-8F3A2C01"),
    PathShape("license_id", 32, "a license's id in the wallet", "lic_4f1c2d3e4a5b6c7d8e9f0a1b"),
    PathShape("consent_id", 32, "a consent's id", "cns_4f1c2d3e4a5b6c7d8e9f"),
    PathShape("face_session_id", 32, "a face verification session's id", "f_4f1c2d3e4a5b6c7d8e9f0a1b"),
    PathShape("withdrawal_id", 32, "a housing fund withdrawal's id", "w_4f1c2d3e4a5b6c7d8e9f0a1b"),
    PathShape("payout_id", 32, "a housing fund payout's id", "po_4f1c2d3e4a5b6c7d8e9f0a1b"),
    PathShape("matter_code", 64, "a matter's code (事项编码)", "330100-NAT-0001"),
    PathShape("bundle_code", 64, "a bundle's code", "newborn"),
    PathShape("topic_code", 64, "a service topic's code", "xiaowei-qiye"),
    PathShape("admin_username", 32, "an admin account's username", "zhang.wei"),
    PathShape("region_code", 12, "a region code: 2, 4, 6, 9 or 12 digits", "330106000000"),
    PathShape("delivery_id", INT64_DIGITS, "an outbox delivery's id", "42", integer=True),
    # a search word is named by its id: its term is Chinese, and percent-encoded text never matches
    PathShape("search_word_id", INT64_DIGITS, "a search word's id (搜索词)", "7", integer=True),
    PathShape("status_list_epoch", INT64_DIGITS, "the hour of a status list (hours since 1970, UTC)", "491234",
              integer=True),
    # data sharing: the catalog, grants and the exchange's service id (docs/sharing.md)
    PathShape("node_code", 64, "a node's code (the X-Road member code)", "bj-psb"),
    PathShape("data_service_code", 64, "a data service's code", "household-register-extract"),
    PathShape("grant_id", 32, "a data-sharing grant's id", "G4F1C2D3E4A5B6C7D"),
    # health codes (docs/health-codes.md)
    PathShape("health_kid", 16, "a health-code signing key's kid (16 hex)", "9f2c1d3e4a5b6c7d"),
    PathShape("health_rule_id", 16, "a health rule's identifier", "AR-110000-0001"),
    PathShape("health_rule_version", 7, "a health rule's version", "2", integer=True),
    PathShape("xroad_part", 64, "a part of an X-Road identifier: instance (CN), member class (GOV), subsystem",
              "CN"),
)}

# The one parameter that spans segments: the rest of an exchange call's path, after the service id,
# which the service's own OpenAPI describes (the catalog) and its grant's operations bound. Sanic's
# built-in ``path`` label matches it; it is kept out of SHAPES so ``install`` never replaces that.
SERVICE_PATH = PathShape("path", 2000, "the service's own path (see its OpenAPI description in the catalog)",
                         "extract")


def shape_of(label: str) -> PathShape | None:
    return SHAPES.get(label) or (SERVICE_PATH if label == SERVICE_PATH.label else None)


def install(app: Sanic) -> None:
    """Register every shape with the router: before the blueprints, whose paths name them (a label
    the router does not know would be read as a regular expression)."""
    for shape in SHAPES.values():
        app.router.register_pattern(shape.label, shape.cast(), shape.pattern)
