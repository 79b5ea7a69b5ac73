"""A standalone offline verifier of govhub presentations (亮证码): it imports nothing of the hub.

Download once (and refresh every few minutes while online)::

    python -m verifier fetch --hub https://hub.example --anchor KEY_ID --cache ./verifier-cache

then check tokens without the network::

    python -m verifier check --cache ./verifier-cache 'GHP1....'

See docs/licenses.md for what is checked and why a stale status list gives "status_unknown".
"""
