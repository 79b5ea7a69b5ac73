"""The department stub: a reference implementation of the department side of the delivery
contract (docs/delivery.md), runnable offline.

``python -m adapters.departments.stub --port 8002`` plays any number of nodes at once, one per
path prefix: a node's endpoint is ``http://127.0.0.1:8002/nodes/<node code>``. For each node it
verifies the hub's signature, dedupes by delivery id, and walks a review script that calls the
hub back, signed as the node. ``/_stub/...`` is for tests and people at a terminal: what arrived
and how often, the callbacks sent, and fault switches (down, slow, 5xx, 429, 4xx).
"""

DEFAULT_PORT = 8002


def stub_url(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> str:
    """Where ``govhub run`` starts the stub (settings ``GOVHUB_MOCK_HOST``, ``GOVHUB_STUB_PORT``)."""
    return f"http://{host}:{port}"


def node_endpoint(base_url: str, node_code: str) -> str:
    """A node's delivery endpoint on the stub: one path prefix per node it plays."""
    return f"{base_url.rstrip('/')}/nodes/{node_code}"
