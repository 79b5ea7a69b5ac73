"""Where the hub delivers to a node: set at registration or later, checked, read back."""
from __future__ import annotations

import pytest

from domain.nodes.errors import NodeInvalid, NodeNotFound
from tests.support.department_stub import NODE_PUBLIC_KEY


async def _register(registry, **extra):
    return await registry.register(code="zj-platform", kind="province", name="浙江政务服务网",
                                   region_code="330000000000", public_key_pem=NODE_PUBLIC_KEY.read_text(), **extra)


async def test_endpoint_at_registration_and_changed_later(resources):
    registry = resources.nodes
    node = await _register(registry, endpoint_url="https://zj.example.cn/hub/")
    assert node.endpoint_url == "https://zj.example.cn/hub"  # the hub appends /deliveries
    changed = await registry.set_endpoint(code="zj-platform", endpoint_url="http://10.0.0.8:8080/nodes/zj")
    assert changed.endpoint_url == (await registry.get("zj-platform")).endpoint_url == "http://10.0.0.8:8080/nodes/zj"
    assert (await registry.set_endpoint(code="zj-platform", endpoint_url=None)).endpoint_url is None
    assert await registry.endpoint("zj-platform") is None


@pytest.mark.parametrize("url", ["ftp://zj.example.cn", "zj.example.cn/hub", "https://", "https://zj.example.cn/?a=1",
                                 "https://zj.example.cn/#x", "https://" + "a" * 500])
async def test_a_bad_endpoint_is_refused_and_changes_nothing(resources, url):
    registry = resources.nodes
    await _register(registry, endpoint_url="https://zj.example.cn")
    with pytest.raises(NodeInvalid) as refused:
        await registry.set_endpoint(code="zj-platform", endpoint_url=url)
    assert refused.value.extra["errors"][0]["field"] == "endpoint_url"
    assert await registry.endpoint("zj-platform") == "https://zj.example.cn"
    with pytest.raises(NodeInvalid):
        await registry.register(code="other-node", kind="province", name="x", region_code="330000000000",
                                public_key_pem=NODE_PUBLIC_KEY.read_text(), endpoint_url=url)


async def test_unknown_node(resources):
    with pytest.raises(NodeNotFound):
        await resources.nodes.set_endpoint(code="nobody", endpoint_url="https://x.example.cn")
