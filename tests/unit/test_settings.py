"""Settings from GOVHUB_* variables; production refuses embedded parts and dev keys."""
from __future__ import annotations

import base64
import os

import pytest

from bff.settings import Settings, SettingsError


def test_defaults_are_the_embedded_hub():
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite://") and settings.redis_url == ""
    assert settings.port == 8000 and settings.mock_port == 8001 and settings.mock_enabled


def test_values_are_read_and_typed():
    settings = Settings.from_env({"GOVHUB_PORT": "9000", "GOVHUB_MOCK_ENABLED": "false"})
    assert settings.port == 9000 and settings.mock_enabled is False
    with pytest.raises(SettingsError):
        Settings.from_env({"GOVHUB_PORT": "eighty"})
    with pytest.raises(SettingsError):
        Settings.from_env({"GOVHUB_MOCK_ENABLED": "maybe"})


def test_production_refuses_every_embedded_part_at_once():
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"GOVHUB_ENV": "production"})
    message = str(refused.value)
    for part in ("PostgreSQL", "Redis", "MOCK_ENABLED", "DATA_KEY", "WeChat", "dev key", "stub", "https",
                 "TEMPLATE_ID"):
        assert part in message


def _production_env(tmp_path) -> dict[str, str]:
    key = tmp_path / "k.pem"
    key.write_text("not read here")
    real = base64.b64encode(os.urandom(32)).decode()
    env = {
        "GOVHUB_ENV": "production", "GOVHUB_DATABASE_URL": "postgres://hub@db:5432/govhub",
        "GOVHUB_REDIS_URL": "redis://cache:6379/0", "GOVHUB_MOCK_ENABLED": "false",
        "GOVHUB_DATA_KEY": real, "GOVHUB_LOOKUP_KEY": base64.b64encode(os.urandom(32)).decode(),
        "GOVHUB_WECHAT_BASE_URL": "https://api.weixin.qq.com/", "GOVHUB_WECHAT_SECRET": "s",
        "GOVHUB_ALIPAY_GATEWAY_URL": "https://openapi.alipay.com/gateway.do",
        "GOVHUB_SMS_BASE_URL": "https://sms.example.gov.cn", "GOVHUB_ALIPAY_APP_PRIVATE_KEY_PATH": str(key),
        "GOVHUB_ALIPAY_PUBLIC_KEY_PATH": str(key), "GOVHUB_NODE_KEY_PATH": str(key),
        "GOVHUB_REALNAME_PROVIDER": "mps", "GOVHUB_FACE_PROVIDER": "vendor",
        "GOVHUB_PUBLIC_URL": "https://hub.gov.cn",
        "GOVHUB_WECHAT_TEMPLATE_ID": "Kq3f8-applicationprogress", "GOVHUB_ALIPAY_TEMPLATE_ID": "2021001",
        "GOVHUB_TSA_URL": "https://tsa.gov.cn/tsa", "GOVHUB_TSA_CERT_PATH": str(key),
    }
    return env


def test_production_starts_with_real_parts(tmp_path):
    assert Settings.from_env(_production_env(tmp_path)).is_production


def test_production_runs_on_the_real_time_only(tmp_path):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**_production_env(tmp_path), "GOVHUB_CLOCK_OFFSET": "86400"})
    assert "GOVHUB_CLOCK_OFFSET" in str(refused.value)


def test_a_moved_clock_moves_every_reading_together():
    from datetime import timedelta

    from domain.shared.clock import Clock

    wall, moved = Clock(), Clock(offset_seconds=86400 * 26)
    ahead = moved.now() - wall.now()
    assert abs(ahead - timedelta(days=26)) < timedelta(seconds=1)
    assert abs(moved.timestamp() - moved.now().timestamp()) < 1
    assert (moved.today() - wall.today()).days in (25, 26, 27)


def test_a_dev_key_copied_elsewhere_is_still_refused(tmp_path):
    from bff.settings import DEVKEYS

    copy = tmp_path / "node.pem"
    copy.write_bytes((DEVKEYS / "hub_node_private.pem").read_bytes())
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"GOVHUB_ENV": "production", "GOVHUB_NODE_KEY_PATH": str(copy)})
    assert "dev key node.pem" in str(refused.value)


def test_govhub_serve_gives_its_workers_the_configured_time_to_start(monkeypatch):
    """Sanic's 30 s would stop a hub whose workers start slowly on a busy host: `govhub serve`
    sets Sanic's allowance (polls of 0.1 s) from GOVHUB_WORKER_START_SECONDS before it serves."""
    from sanic import Sanic
    from sanic.worker.manager import WorkerManager
    from sanic.worker.process import WorkerProcess

    from bff import cli

    monkeypatch.setattr(WorkerManager, "THRESHOLD", WorkerManager.THRESHOLD)
    monkeypatch.setattr(WorkerProcess, "THRESHOLD", WorkerProcess.THRESHOLD)
    monkeypatch.setattr(Sanic, "_app_registry", dict(Sanic._app_registry))  # the app made here goes again
    allowed = []
    monkeypatch.setattr(Sanic, "serve", classmethod(
        lambda cls, **_: allowed.append((WorkerManager.THRESHOLD, WorkerProcess.THRESHOLD))))
    settings = Settings.from_env({"GOVHUB_WORKER_START_SECONDS": "45"})
    assert cli._serve(settings) == 0
    assert allowed == [(450, 450)]
