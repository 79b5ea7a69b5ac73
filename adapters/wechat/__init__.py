"""WeChat open platform (mini-program login, phone number) through wechatpy."""

from adapters.wechat.client import WeChatLoginClient
from adapters.wechat.storage import RedisSessionStorage

__all__ = ["RedisSessionStorage", "WeChatLoginClient"]
