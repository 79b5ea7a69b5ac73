"""An RFC 3161 time-stamping authority for the message log, its HTTP client and its token verifier.

- ``authority.TimeStampAuthority``: TimeStampReq in, TimeStampResp out (pure; the clock is given).
- ``server.install(app, authority)``: ``POST /tsa`` on a Sanic app (RFC 3161 §3.4).
- ``client.TsaClient``: the ``TimeStamper`` port over HTTP.
- ``verify.TsaVerifier``: the ``TokenVerifier`` port, from the trusted TSA certificate.
"""
