"""How a partner webhook is signed, and how the partner checks it (README, Partner webhooks).

Standard library only, so a partner can copy this file as it is. Each delivery carries three headers:

    X-CC-Delivery:  the delivery's id; the same id on every attempt and redelivery (deduplicate on it)
    X-CC-Timestamp: seconds since the epoch (UTC) when this attempt was signed
    X-CC-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's secret>

The receiver recomputes the HMAC over the raw body bytes it received (before parsing the JSON) and refuses
a timestamp further than the replay window (`WINDOW_S`, 5 minutes) from its own clock, so a captured
request cannot be played again later. The signature header may list several `v1=` values separated by
commas (one per secret while a secret is being rotated); one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import time

WINDOW_S = 300  # the replay window: a timestamp further than this from the receiver's clock is refused
SCHEME = "v1"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-CC-Signature header's value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None, window: int = WINDOW_S
) -> bool:
    """True when `signature` (the X-CC-Signature header) signs `timestamp` + "." + `body` with `secret` and
    the timestamp is within `window` seconds of `now` (default: this machine's clock)."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - sent) > window:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in signature.split(","))
