"""Session fixtures for the real-HTTP parts: the miniprogram_mock servers."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def mock_url():
    from tests.support.mock_server import running_mock

    with running_mock() as url:
        yield url
