"""Faults on purpose: a TCP proxy that makes a healthy system behind it look slow, flaky, silent,
truncated or gone (``faults.proxy``), for the fault tests (tests/faults, docs/faults.md).

Loopback tooling only: nothing in the hub imports it."""
