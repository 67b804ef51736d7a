"""Partner webhooks (incidents/webhooks.py) against a real HTTP server in a thread: a diversion's push reaches
the partner's endpoint after commit, signed, in the partner's shape; a 500 is retried with backoff until a 2xx;
the last failure is a dead letter that the admin's action and the command send again; the verify helper
partners copy refuses a replay; and two workers never send one delivery at once."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from command_center import celery_app
from incidents import services, tasks, webhook_signing, webhooks
from incidents.api import PartnerIncidentSerializer
from incidents.models import Incident, PartnerWebhook, WebhookDelivery
from tests.concurrency import parallel
from tests.httpserver import serving

from .conftest import call

SECRET = "whsec_test-secret"


class Server:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_first = 0  # /flaky answers 500 this many times, then 200
        self.port = 0
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["path"] == path]


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.received.append({"path": self.path, "headers": self.headers, "body": body})
                n = len(state.hits(self.path))
            if self.path == "/slow":
                time.sleep(0.5)  # long enough for a second worker to try the same row meanwhile
            code = 200
            if self.path == "/500" or (self.path in ("/flaky", "/slow") and n <= state.fail_first):
                code = 500
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    with serving(Handler) as port:
        state.port = port
        yield state


@pytest.fixture(autouse=True)
def local_http(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_HTTP_LOCAL = True


@pytest.fixture
def eager() -> Iterator[None]:
    """The after-commit task runs in this process, as a worker would run it."""
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False


def hook(coded: Any, server: Server, path: str = "/ok", **kw: Any) -> PartnerWebhook:
    return PartnerWebhook.objects.create(partner=coded.partner, url=server.url(path), secret=SECRET, **kw)


def new_incident(coded: Any) -> Incident:
    from .conftest import api_as

    r = api_as(coded.duty).post("/api/incidents/", call(), format="json")
    return Incident.objects.get(pk=r.json()["id"])


def divert(coded: Any) -> Any:
    return services.incident_divert(incident_id=new_incident(coded).pk, actor=coded.duty, partner=coded.partner)


def due_again(row: WebhookDelivery) -> datetime:
    row.refresh_from_db()
    assert row.next_attempt_at is not None
    return row.next_attempt_at


# --- signing ---------------------------------------------------------------------------------------------


def test_verify_accepts_its_signature_and_refuses_a_tampered_body_another_secret_and_a_replay() -> None:
    body, ts = b'{"id":1}', "1800000000"
    sig = webhook_signing.sign(SECRET, ts, body)
    assert sig.startswith("v1=") and len(sig) == 3 + 64
    assert webhook_signing.verify(SECRET, ts, body, sig, now=1800000000)
    assert webhook_signing.verify(SECRET, ts, body, sig, now=1800000000 + 299)  # inside the window
    assert webhook_signing.verify(SECRET, ts, body, sig, now=1800000000 - 299)  # a receiver's clock behind
    assert not webhook_signing.verify(SECRET, ts, body, sig, now=1800000000 + 301)  # a replay, 5 min late
    assert not webhook_signing.verify(SECRET, ts, body, sig, now=1800000000 + 60, window=30)
    assert not webhook_signing.verify(SECRET, ts, b'{"id":2}', sig, now=1800000000)
    assert not webhook_signing.verify("whsec_other", ts, body, sig, now=1800000000)
    assert not webhook_signing.verify(SECRET, "1800000001", body, sig, now=1800000000)  # the stamp is signed
    assert not webhook_signing.verify(SECRET, "soon", body, sig, now=1800000000)
    # While a secret is rotated the header may carry two signatures; one match is enough.
    assert webhook_signing.verify(SECRET, ts, body, f"v1={'0' * 64}, {sig}", now=1800000000)


def test_a_webhook_url_must_be_https_except_http_to_this_machine_when_allowed(settings: Any) -> None:
    webhooks.check_url("https://12345.example/hooks")
    webhooks.check_url("http://127.0.0.1:8080/hooks")
    webhooks.check_url("http://localhost/hooks")
    for bad in ["http://12345.example/hooks", "ftp://127.0.0.1/x", "https:///nohost", "http://10.0.0.1/x"]:
        with pytest.raises(ValidationError):
            webhooks.check_url(bad)
    settings.WEBHOOKS_ALLOW_HTTP_LOCAL, settings.DEBUG = False, False
    with pytest.raises(ValidationError):
        webhooks.check_url("http://127.0.0.1:8080/hooks")


# --- the outbox and a delivery ----------------------------------------------------------------------------


def test_a_push_is_delivered_after_commit_signed_in_the_partner_s_shape(
    coded: Any, server: Server, eager: None
) -> None:
    hook(coded, server)
    with TestCase.captureOnCommitCallbacks(execute=True):
        d = divert(coded)
        row = WebhookDelivery.objects.get(diversion=d)  # written in the push's transaction
        assert row.state == WebhookDelivery.State.PENDING and server.received == []  # nothing before commit
    [got] = server.hits("/ok")
    h = got["headers"]
    assert h["X-CC-Delivery"] == str(row.pk)
    assert h["Content-Type"].startswith("application/json")
    assert webhook_signing.verify(SECRET, h["X-CC-Timestamp"], got["body"], h["X-CC-Signature"])
    assert abs(int(h["X-CC-Timestamp"]) - time.time()) < 60
    doc = json.loads(got["body"])
    i = d.incident
    assert doc["id"] == row.pk and doc["event"] == "diversion.pushed"
    assert doc["diversion"]["id"] == d.pk and doc["diversion"]["state"] == "pushed"
    assert {c["kind"] for c in doc["diversion"]["clocks"]} == {
        services.CLOCK_DIVERSION_ACCEPT,
        services.CLOCK_DIVERSION_FINISH,
    }
    assert doc["incident"]["number"] == i.number and doc["incident"]["narrative"] == "楼上装修噪音很大"
    assert doc["incident"]["address"] == "东湖路12号" and doc["incident"]["category"] == "020500"
    # The partner's shape: what PartnerIncidentSerializer shows (its own diversion apart), never the caller.
    assert set(doc["incident"]) == set(PartnerIncidentSerializer().fields) - {"diversion"}
    text = got["body"].decode()
    assert "13800138000" not in text and "张三" not in text and "caller" not in text
    row.refresh_from_db()
    assert row.state == WebhookDelivery.State.DELIVERED and row.attempts == 1 and row.last_status == 200
    assert row.next_attempt_at is None and row.delivered_at is not None


def test_the_partner_s_answers_are_delivered_as_changes(coded: Any, server: Server, eager: None) -> None:
    hook(coded, server)
    with TestCase.captureOnCommitCallbacks(execute=True):
        d = divert(coded)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.diversion_accept(diversion_id=d.pk, actor=coded.partner_agent)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.diversion_complete(diversion_id=d.pk, actor=coded.partner_agent, result="已联系物业处理")
    docs = [json.loads(r["body"]) for r in server.hits("/ok")]
    assert [(x["event"], x["diversion"]["state"]) for x in docs] == [
        ("diversion.pushed", "pushed"),
        ("diversion.updated", "accepted"),
        ("diversion.updated", "done"),
    ]
    assert docs[2]["diversion"]["result"] == "已联系物业处理"
    assert len({x["id"] for x in docs}) == 3  # one delivery per event


def test_no_delivery_on_rollback_nor_to_an_inactive_or_unsubscribed_endpoint(coded: Any, server: Server) -> None:
    hook(coded, server, "/ok")
    hook(coded, server, "/off", active=False)
    hook(coded, server, "/only-updates", events=["diversion.updated"])
    with pytest.raises(RuntimeError), transaction.atomic():
        divert(coded)
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the push fails after the outbox row was written")
    assert WebhookDelivery.objects.count() == 0
    d = divert(coded)
    assert [r.webhook.url for r in WebhookDelivery.objects.filter(diversion=d)] == [server.url("/ok")]


def test_a_500_is_retried_with_backoff_until_a_2xx(coded: Any, server: Server) -> None:
    server.fail_first = 2
    hook(coded, server, "/flaky")
    d = divert(coded)  # the after-commit task is not run here: the sweep sends it
    row = WebhookDelivery.objects.get(diversion=d)
    first = tasks.sweep_webhooks()
    assert first == {"sent": 1, "failed": 1}
    row.refresh_from_db()
    assert row.state == WebhookDelivery.State.PENDING and row.attempts == 1 and row.last_status == 500
    assert row.last_error == "HTTP 500"
    wait = (due_again(row) - timezone.now()).total_seconds()
    assert 60 * 0.8 - 2 <= wait <= 60 * 1.2  # the first delay, with jitter
    assert tasks.sweep_webhooks() == {"sent": 0, "failed": 0}  # not due yet
    assert tasks.deliver_webhook(row.pk) is None  # nor for the task
    assert webhooks.deliveries_send_due(now=due_again(row))[0].ok is False
    row.refresh_from_db()
    wait = (due_again(row) - timezone.now()).total_seconds()
    assert row.attempts == 2 and 300 * 0.8 - 2 <= wait <= 300 * 1.2  # longer after the second
    [attempt] = webhooks.deliveries_send_due(now=due_again(row))
    assert attempt.ok and attempt.status == 200
    row.refresh_from_db()
    assert row.state == WebhookDelivery.State.DELIVERED and row.attempts == 3 and row.last_error == ""
    hits = server.hits("/flaky")
    assert len(hits) == 3 and {h["headers"]["X-CC-Delivery"] for h in hits} == {str(row.pk)}
    for h in hits:  # each attempt signed afresh
        assert webhook_signing.verify(SECRET, h["headers"]["X-CC-Timestamp"], h["body"], h["headers"]["X-CC-Signature"])


def test_backoff_grows_to_about_a_day_over_the_attempts() -> None:
    assert webhooks.MAX_ATTEMPTS == 8
    total = sum(webhooks.RETRY_DELAYS_S)
    assert 18 * 3600 <= total <= 30 * 3600
    delays = [webhooks.retry_delay_s(n) for n in range(1, webhooks.MAX_ATTEMPTS)]
    for n, delay in enumerate(delays, start=1):
        base = webhooks.RETRY_DELAYS_S[n - 1]
        assert base * 0.8 <= delay <= base * 1.2


def test_the_last_failure_is_a_dead_letter_that_the_admin_redelivers(
    coded: Any, server: Server, client: Any, django_user_model: Any, eager: None
) -> None:
    h = hook(coded, server, "/500")
    d = divert(coded)
    row = WebhookDelivery.objects.get(diversion=d)
    for _ in range(webhooks.MAX_ATTEMPTS):
        [attempt] = webhooks.deliveries_send_due(now=due_again(row))
        assert not attempt.ok
    row.refresh_from_db()
    assert row.state == WebhookDelivery.State.DEAD and row.attempts == webhooks.MAX_ATTEMPTS
    assert row.next_attempt_at is None
    assert webhooks.deliveries_send_due(now=timezone.now() + timedelta(days=30)) == []  # never again by itself
    assert len(server.hits("/500")) == webhooks.MAX_ATTEMPTS

    client.force_login(django_user_model.objects.create_superuser("root", "root@example.org", "pw-12345"))
    page = client.get("/admin/incidents/webhookdelivery/?state=dead")
    assert page.status_code == 200 and f">{row.pk}<".encode() in page.content
    PartnerWebhook.objects.filter(pk=h.pk).update(url=server.url("/ok"))  # the partner fixed its endpoint
    with TestCase.captureOnCommitCallbacks(execute=True):
        r = client.post("/admin/incidents/webhookdelivery/", {"action": "redeliver", "_selected_action": [row.pk]})
    assert r.status_code == 302
    row.refresh_from_db()
    assert row.state == WebhookDelivery.State.DELIVERED and row.attempts == 1
    [got] = server.hits("/ok")
    assert got["headers"]["X-CC-Delivery"] == str(row.pk)  # the same id: the partner deduplicates


def test_the_command_redelivers_the_dead_letters(coded: Any, server: Server) -> None:
    hook(coded, server, "/ok")
    d = divert(coded)
    dead = WebhookDelivery.objects.get(diversion=d)
    WebhookDelivery.objects.filter(pk=dead.pk).update(state="dead", attempts=8, next_attempt_at=None)
    services.diversion_accept(diversion_id=d.pk, actor=coded.partner_agent)
    alive = WebhookDelivery.objects.exclude(pk=dead.pk).get(diversion=d)
    out = io.StringIO()
    call_command("redeliver_webhooks", stdout=out)
    assert out.getvalue().strip() == "1 deliveries queued again"  # the dead one; the pending one is left
    dead.refresh_from_db()
    assert dead.state == WebhookDelivery.State.PENDING and dead.attempts == 0
    assert alive.state == WebhookDelivery.State.PENDING and due_again(alive) is not None
    assert {a.delivery_id for a in webhooks.deliveries_send_due()} == {dead.pk, alive.pk}


def test_the_admin_makes_the_secret_once_and_refuses_plain_http(
    coded: Any, client: Any, django_user_model: Any, settings: Any
) -> None:
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.org", "pw-12345"))
    form = {
        "partner": coded.partner.pk,
        "url": "https://12345.example/cc",
        "active": "on",
        "events": ["diversion.pushed"],
    }
    r = client.post("/admin/incidents/partnerwebhook/add/", form, follow=True)
    h = PartnerWebhook.objects.get()
    assert h.secret.startswith("whsec_") and len(h.secret) > 40 and h.events == ["diversion.pushed"]
    assert h.secret in r.content.decode()  # shown once, in the message
    page = client.get(f"/admin/incidents/partnerwebhook/{h.pk}/change/").content.decode()
    assert h.secret not in page and h.masked_secret in page
    settings.WEBHOOKS_ALLOW_HTTP_LOCAL = False
    r = client.post("/admin/incidents/partnerwebhook/add/", {**form, "url": "http://12345.example/cc"})
    assert r.status_code == 200 and PartnerWebhook.objects.count() == 1


# --- two workers ------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_one_delivery_at_once(coded: Any, server: Server, eager: None) -> None:
    server.fail_first = 1
    hook(coded, server, "/slow")
    d = divert(coded)  # committed: the task ran here, and its first attempt got a 500
    row = WebhookDelivery.objects.get(diversion=d)
    assert row.attempts == 1 and row.state == WebhookDelivery.State.PENDING
    later = due_again(row) + timedelta(seconds=1)
    # A task and a sweep (or two of either) at once: one claims the row, the other finds it held or not due.
    results = parallel(
        2,
        lambda k: (
            webhooks.delivery_send(delivery_id=row.pk, now=later) if k == 0 else webhooks.deliveries_send_due(now=later)
        ),
    )
    sent = [r for r in results if r]
    assert len(sent) == 1, results
    assert len(server.hits("/slow")) == 2  # the first attempt and exactly one more
    row.refresh_from_db()
    assert row.state == WebhookDelivery.State.DELIVERED and row.attempts == 2


# --- the partner's own API --------------------------------------------------------------------------------


def test_a_partner_manages_its_own_endpoints_over_the_api(coded: Any, settings: Any) -> None:
    from .conftest import api_as

    partner, duty = api_as(coded.partner_agent), api_as(coded.duty)
    r = partner.post(
        "/api/webhooks/", {"url": "https://12345.example/cc", "events": ["diversion.pushed"]}, format="json"
    )
    assert r.status_code == 201, r.content
    made = r.json()
    hook = PartnerWebhook.objects.get(pk=made["id"])
    assert made["secret"] == hook.secret and hook.secret.startswith("whsec_") and hook.partner_id == coded.partner.pk
    listed = partner.get("/api/webhooks/").json()["results"]
    assert [x["id"] for x in listed] == [hook.pk] and "secret" not in listed[0]
    assert listed[0]["secret_hint"] == hook.masked_secret and hook.secret not in json.dumps(listed)

    settings.WEBHOOKS_ALLOW_HTTP_LOCAL = False
    bad = partner.patch(f"/api/webhooks/{hook.pk}/", {"url": "http://12345.example/cc"}, format="json")
    assert bad.status_code == 400 and "url" in bad.json()
    assert partner.patch(f"/api/webhooks/{hook.pk}/", {"events": ["diversion.nope"]}, format="json").status_code == 400
    assert partner.patch(f"/api/webhooks/{hook.pk}/", {"colour": "red"}, format="json").status_code == 400
    off = partner.patch(f"/api/webhooks/{hook.pk}/", {"active": False}, format="json")
    assert off.status_code == 200 and off.json()["active"] is False
    hook.refresh_from_db()
    assert not hook.active and hook.url == "https://12345.example/cc" and hook.events == ["diversion.pushed"]

    old = hook.secret
    rotated = partner.post(f"/api/webhooks/{hook.pk}/rotate-secret/").json()
    hook.refresh_from_db()
    assert rotated["secret"] == hook.secret != old

    # The police see none of it and change nothing (the admin manages every endpoint).
    assert duty.get("/api/webhooks/").json()["results"] == []
    assert duty.get(f"/api/webhooks/{hook.pk}/").status_code == 404
    assert duty.post(f"/api/webhooks/{hook.pk}/rotate-secret/").status_code == 404
    made_by_duty = duty.post(
        "/api/webhooks/", {"url": "https://x.example/", "events": ["diversion.pushed"]}, format="json"
    )
    assert made_by_duty.status_code == 403 and PartnerWebhook.objects.count() == 1
    assert partner.put(f"/api/webhooks/{hook.pk}/", {}, format="json").status_code == 405


def test_an_attempt_in_flight_does_not_overwrite_a_redelivery_made_meanwhile(coded: Any, server: Server) -> None:
    hook(coded, server, "/500")
    d = divert(coded)
    [claimed] = webhooks.deliveries_claim()  # a worker holds it and is about to send
    assert webhooks.deliveries_redeliver(WebhookDelivery.objects.filter(diversion=d)) == 1  # the admin, meanwhile
    attempt = webhooks._attempt(claimed)  # the worker's request fails and it records…
    assert not attempt.ok and attempt.status == 500
    row = WebhookDelivery.objects.get(pk=claimed.pk)  # …nothing: the redelivery stands, due now
    assert row.state == WebhookDelivery.State.PENDING and row.attempts == 0 and row.last_status is None
    assert row.next_attempt_at is not None and row.next_attempt_at <= timezone.now()


def test_beat_sweeps_the_webhooks_and_every_process_knows_the_tasks(settings: Any) -> None:
    assert settings.HOUSEKEEPING["incidents.sweep_webhooks"] == 15.0
    # Registered at startup (IncidentsConfig.ready), so a web process queues the delivery task by name.
    assert {webhooks.TASK, "incidents.sweep_webhooks"} <= set(celery_app.tasks)
