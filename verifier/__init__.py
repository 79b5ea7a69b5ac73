"""A standalone offline verifier of govhub presentations (亮证码): it imports nothing of the hub.

Download once (and refresh every few minutes while online)::

    python -m verifier fetch --hub https://hub.example --anchor FINGERPRINT --cache ./verifier-cache

then check tokens without the network::

    python -m verifier check --anchor FINGERPRINT --cache ./verifier-cache 'GHP1....'

FINGERPRINT is the SHA-256 of the trust anchor's public key, learnt out of band (or set
``GOVHUB_TRUST_ANCHOR``); every cached file is checked against it when loaded.

See docs/licenses.md for what is checked and why a stale status list gives "status_unknown".
"""
