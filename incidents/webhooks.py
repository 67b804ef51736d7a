"""Partner webhooks: a partner's system hears of its diversions as signed JSON (README, Partner webhooks).

The outbox. A diversion's step (push, accept, return, complete; a void when a service voids one) calls
`diversion_event` inside its transaction: one `WebhookDelivery` row per active endpoint of the partner that
subscribed to the event, with the payload as it is at that step, and, after commit only, a Celery task
(`incidents.deliver_webhook`) to send it now. A rollback leaves neither row nor task.

How an attempt goes (`delivery_send` for one row, `deliveries_send_due` for beat's sweep):

1. Claim: one short transaction takes the due pending rows (`next_attempt_at` past, endpoint active) with
   `SELECT … FOR UPDATE SKIP LOCKED`, adds one to `attempts` and pushes `next_attempt_at` a lease ahead
   (`LEASE_S`). Two workers see different rows, and a claimed row is no longer due once the claim commits,
   so a delivery is never sent twice at once. No lock is held during the request.
2. Send: POST the body, signed (webhook_signing.py), with a total time limit (settings.WEBHOOK_TIMEOUT_S);
   no redirect is followed.
3. Record, fenced by the claim (its attempt number and lease: an admin's redelivery meanwhile wins): a 2xx marks it
   delivered; anything else schedules the next attempt after `RETRY_DELAYS_S[attempts - 1]` ± 20 % jitter,
   or, after the `MAX_ATTEMPTS`th, marks it dead (the admin lists those, with a redeliver action).

A worker killed mid-request leaves the lease: the row comes due again when it ends and beat's sweep sends
it, as it sends a row whose task was lost (Redis down at commit, a restart). The partner may so receive a
delivery twice in a row, never at once: it deduplicates on `X-CC-Delivery`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from . import webhook_signing
from .models import Diversion, PartnerWebhook, WebhookDelivery
from .payloads import diversion_payload, partner_incident_payload

log = logging.getLogger(__name__)

# The waits after attempts 1…7 (1 min … 12 h): eight attempts spread over about a day.
RETRY_DELAYS_S = (60, 300, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS_S) + 1
JITTER = 0.2
LEASE_S = 300  # a claimed row is not due again for this long, in case its worker dies mid-request
CLAIM_BATCH = 50  # at most this many rows per sweep; the rest are due at the next one
USER_AGENT = "command-center-webhooks/1"
TASK = "incidents.deliver_webhook"
LOCAL_HOSTS = {"localhost"}


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def http_local_allowed() -> bool:
    return bool(settings.DEBUG or settings.WEBHOOKS_ALLOW_HTTP_LOCAL)


def check_url(url: str) -> None:
    """ValidationError unless `url` is https, or http to this machine (127.0.0.1, ::1, localhost) where
    http_local_allowed()."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and http_local_allowed() and _is_local(parts.hostname):
        return
    raise ValidationError(_("A webhook's URL must be https."), code="https")


def _is_local(host: str) -> bool:
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- the outbox ----------------------------------------------------------------------------------------


def diversion_event(d: Diversion, event: str) -> list[WebhookDelivery]:
    """In the caller's transaction: a delivery of `event` about `d` for each active endpoint of its partner
    that subscribed to it, each sent after commit. The body is the partner's shape of the incident (no
    caller, no police handling: payloads.partner_incident_payload) and its diversion as it is now."""
    hooks = [w for w in PartnerWebhook.objects.filter(partner_id=d.partner_id, active=True) if event in w.events]
    if not hooks:
        return []
    payload = {"diversion": _diversion_body(d), "incident": partner_incident_payload(d.incident)}
    rows = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(webhook=w, diversion=d, event=event, payload=payload, next_attempt_at=timezone.now())
            for w in hooks
        ]
    )
    for row in rows:
        transaction.on_commit(partial(_queue, row.pk))
    return rows


def _diversion_body(d: Diversion) -> dict[str, Any]:
    p = diversion_payload(d)
    p.pop("partner", None)
    return {**p, "note": d.note, "return_reason": d.return_reason, "result": d.result}


def _queue(delivery_id: int) -> None:
    """After commit: ask a worker to send it now. If the broker is down the sweep sends it later."""
    from celery import current_app

    try:
        current_app.signature(TASK, args=(delivery_id,)).apply_async()
    except Exception:
        log.warning("webhook delivery %s not queued; the sweep will send it", delivery_id, exc_info=True)


def deliveries_redeliver(qs: QuerySet[WebhookDelivery]) -> int:
    """Send these again from the first attempt (the admin's action, `manage.py redeliver_webhooks`): the
    same delivery id, so the partner deduplicates. Returns how many."""
    with transaction.atomic():
        ids = list(qs.select_for_update(of=("self",)).values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=ids).update(
            state=WebhookDelivery.State.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
        )
        for pk in ids:
            transaction.on_commit(partial(_queue, pk))
    return len(ids)


# --- sending -------------------------------------------------------------------------------------------


@dataclass
class Attempt:
    delivery_id: int
    ok: bool
    status: int | None = None
    error: str = ""


def body_bytes(row: WebhookDelivery) -> bytes:
    """What is POSTed and signed: the delivery's id and event, when it happened, and the payload."""
    doc = {"id": row.pk, "event": row.event, "created_at": row.created_at, **row.payload}
    return json.dumps(doc, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()


def deliveries_claim(*, now: datetime | None = None, ids: list[int] | None = None) -> list[WebhookDelivery]:
    """Step 1: take the due pending rows of active endpoints (SKIP LOCKED; only `ids` if given), count the
    attempt and push them a lease ahead, in one short transaction. The longest-waiting first."""
    now = now or timezone.now()
    with transaction.atomic():
        qs = WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            state=WebhookDelivery.State.PENDING, next_attempt_at__lte=now, webhook__active=True
        )
        if ids is not None:
            qs = qs.filter(pk__in=ids)
        rows = list(qs.select_related("webhook").order_by("next_attempt_at", "pk")[:CLAIM_BATCH])
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + timedelta(seconds=LEASE_S)
        WebhookDelivery.objects.bulk_update(rows, ["attempts", "next_attempt_at"])
    return rows


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> Attempt | None:
    """The task's work: claim this row if it is due and send it. None when another worker holds it, it is
    not due, or it is settled."""
    rows = deliveries_claim(now=now, ids=[delivery_id])
    return _attempt(rows[0]) if rows else None


def deliveries_send_due(*, now: datetime | None = None) -> list[Attempt]:
    """Beat's sweep: claim the due rows, then send each in turn; one failing endpoint never blocks another."""
    return [_attempt(row) for row in deliveries_claim(now=now)]


def retry_delay_s(attempts: int) -> float:
    base = RETRY_DELAYS_S[min(attempts, len(RETRY_DELAYS_S)) - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


def _attempt(row: WebhookDelivery) -> Attempt:
    try:
        status = post(row.webhook, body_bytes(row), delivery_id=row.pk)
        error = "" if 200 <= status < 300 else f"HTTP {status}"
    except WebhookError as e:
        status, error = None, str(e)
    except Exception as e:  # a bug in one delivery must not stop the sweep's others
        status, error = None, _short(f"{type(e).__name__}: {e}")
    done = timezone.now()
    # Fenced by the claim (its attempt number and lease): a redelivery or a newer claim meanwhile wins.
    mine = WebhookDelivery.objects.filter(
        pk=row.pk, state=WebhookDelivery.State.PENDING, attempts=row.attempts, next_attempt_at=row.next_attempt_at
    )
    if not error:
        mine.update(
            state=WebhookDelivery.State.DELIVERED,
            delivered_at=done,
            next_attempt_at=None,
            last_status=status,
            last_error="",
        )
        return Attempt(row.pk, True, status)
    if row.attempts >= MAX_ATTEMPTS:
        mine.update(state=WebhookDelivery.State.DEAD, next_attempt_at=None, last_status=status, last_error=error)
        log.warning("webhook delivery %s dead after %s attempts: %s", row.pk, row.attempts, error)
    else:
        mine.update(
            next_attempt_at=done + timedelta(seconds=retry_delay_s(row.attempts)), last_status=status, last_error=error
        )
    return Attempt(row.pk, False, status, error)


class WebhookError(Exception):
    """An attempt failed before a status came back; the message is short and never holds the secret."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is the answer, and a failure: the signed body goes to the registered URL only


_opener = urllib.request.build_opener(_NoRedirect)


def post(hook: PartnerWebhook, body: bytes, *, delivery_id: int, timeout: float | None = None) -> int:
    """POST `body` to the endpoint, signed now; the HTTP status, or WebhookError when none came back."""
    timeout = settings.WEBHOOK_TIMEOUT_S if timeout is None else timeout
    try:
        check_url(hook.url)  # again at sending: the setting may have changed since the row was saved
    except ValidationError:
        raise WebhookError("the URL is not https") from None
    ts = str(int(time.time()))
    request = urllib.request.Request(
        hook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-CC-Delivery": str(delivery_id),
            "X-CC-Timestamp": ts,
            "X-CC-Signature": webhook_signing.sign(hook.secret, ts, body),
        },
    )
    deadline = time.monotonic() + timeout
    try:
        with _opener.open(request, timeout=timeout) as response:  # scheme checked above
            while response.read1(64 * 1024):  # drain a little of the answer, within the limit
                if time.monotonic() > deadline:
                    raise WebhookError(f"timed out after {timeout:g} s")
            return int(response.status)
    except urllib.error.HTTPError as e:
        e.close()
        return int(e.code)
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise WebhookError(f"timed out after {timeout:g} s") from None
        raise WebhookError(f"cannot connect: {_short(str(e.reason))}") from None
    except TimeoutError:
        raise WebhookError(f"timed out after {timeout:g} s") from None
    except OSError as e:
        raise WebhookError(f"network error: {_short(type(e).__name__ + ': ' + str(e))}") from None


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
