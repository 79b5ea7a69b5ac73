"""The health-code module's adapters (docs/health-codes.md).

- ``region_signer.HttpRegionSigner``: the ``RegionSigner`` port over HTTP — a region that keeps its
  signing key itself signs each code at ``POST {node endpoint}/health/sign`` (the department stub
  plays Zhejiang: ``adapters/departments/stub/health_signer.py``).
"""
