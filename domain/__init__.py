"""The business, one package per capability. ``MODEL_MODULES`` lists every module with tables."""

MODEL_MODULES = [
    "domain.identity.models",
    "domain.nodes.models",
]
