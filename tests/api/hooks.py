"""Schemathesis hooks for Kezdesu's OpenAPI document (SCHEMATHESIS_HOOKS=hooks, from tests/api).

WHIP and WHEP take SDP (RFC 8866) and trickle-ICE fragments (RFC 8840) as text bodies, which
schemathesis cannot serialize by itself ("serialization not possible"). Both are plain text, so
the generated string is sent as it is, UTF-8 encoded; the server must refuse what is not SDP
with a documented 4xx problem, never a 500.
"""

import schemathesis


@schemathesis.serializer("application/sdp", "application/trickle-ice-sdpfrag")
def as_text(ctx, value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")
