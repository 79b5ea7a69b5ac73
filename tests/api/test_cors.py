"""CORS: no browser page on another origin may call the API unless its origin is configured
(GOVHUB_CORS_ORIGINS); production refuses ``*``."""
from __future__ import annotations

import dataclasses

import pytest

from bff.settings import Settings, SettingsError

H5 = "https://h5.example.gov.cn"


async def test_by_default_no_origin_is_allowed(client):
    answer = await client.get("/wx/v1/home?region=330106000000", headers={"Origin": "https://evil.example"})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


def test_a_configured_origin_is_what_sanic_ext_is_told_to_allow(settings, resources):
    """One app per process can start (Sanic's touch-ups): sanic-ext's own CORS answers the
    configured origin; what the hub decides is that list, and whether CORS runs at all."""
    from bff.app import create_app

    configured = create_app(dataclasses.replace(settings, cors_origins=f" {H5} ,"), hub=resources,
                            name="govhub_cors")
    assert (configured.config.CORS, configured.config.CORS_ORIGINS) == (True, H5)
    closed = create_app(settings, hub=resources, name="govhub_no_cors")
    assert (closed.config.CORS, closed.config.CORS_ORIGINS) == (False, "")


def test_production_refuses_every_origin():
    with pytest.raises(SettingsError, match="GOVHUB_CORS_ORIGINS"):
        Settings(cors_origins="*").check_production()
