"""Standard Webhooks verification with the maintained ``standardwebhooks`` library.

The library checks the ±5 minute tolerance against the system clock; ours is injected (tests
run at a fixed moment), so the one timestamp check is overridden and everything else —
header parsing, the HMAC over ``{id}.{timestamp}.{body}``, constant-time comparison of every
``v1,`` signature offered — is the library's own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

TOLERANCE = timedelta(minutes=5)


class _ClockedWebhook(Webhook):
    def __init__(self, secret: str, now: datetime) -> None:
        super().__init__(secret)
        self._now = now

    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:
        try:
            timestamp = datetime.fromtimestamp(float(timestamp_header), tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise WebhookVerificationError("Invalid Signature Headers") from None
        if timestamp < self._now - TOLERANCE:
            raise WebhookVerificationError("Message timestamp too old")
        if timestamp > self._now + TOLERANCE:
            raise WebhookVerificationError("Message timestamp too new")
        return timestamp


class SignatureRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify(body: bytes, headers: dict[str, str], secrets: list[str], now: datetime) -> None:
    """Passes when one of the vendor's live secrets signed this body; raises :class:`SignatureRefused` otherwise.

    Each secret is tried in turn, so during a rotation the old and the new secret both work."""
    if not secrets:
        raise SignatureRefused("the vendor has no live secret")
    last = "no matching signature"
    for secret in secrets:
        try:
            _ClockedWebhook(secret, now).verify(body, headers, json_parse=False)
            return
        except WebhookVerificationError as exc:
            last = str(exc)
            if "timestamp" in last or "headers" in last.lower():
                break  # the same for every secret
        except (ValueError, TypeError, UnicodeDecodeError):  # malformed signature header or body bytes
            last = "malformed webhook-signature header or body"
            break
    raise SignatureRefused(last)


def sign(body: bytes, webhook_id: str, timestamp: datetime, secret: str) -> dict[str, str]:
    """The headers a vendor sends (the send-test command, tests and the benchmark use it)."""
    signature = Webhook(secret).sign(webhook_id, timestamp, body.decode())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
