"""Alipay open platform: RSA2-signed gateway calls (login with ``alipay.system.oauth.token``)."""

from adapters.alipay.client import AlipayLoginClient

__all__ = ["AlipayLoginClient"]
