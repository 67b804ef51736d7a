"""Nobody sees what isn't theirs: station B walks every URL pattern of the project with station A's ids and
A's search terms, and gets nothing of A's — by token and by session, as a plain station officer and as a
person holding every police role at B (so only scope, never a role, can refuse them).

- detail and action URLs with A's ids answer 403 or 404 (never 2xx), and nothing changes in the database;
- lists, state endpoints, exports, pages — unfiltered, filtered by A's org, searched by A's numbers, phones
  and addresses — carry none of A's markers (tests/two_stations.py) and none of A's ids;
- writes that name A's rows in their body (intake linked to A's incident, an analysis of A's incidents, a
  watch on A's task …) are refused (400/403/404) and store nothing;
- B's board socket hears nothing of A's business, and asking it for A's group changes nothing.

`TABLE` says how each pattern is exercised: a pattern it does not know fails the walk, so a new endpoint
must say here how B is kept out of it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from command_center import tokens
from incidents import eido
from intel import hotspots
from tests.conftest import capture_broadcasts
from tests.two_stations import A_ADDRESS, A_PHONES, A_SCENE, MARK, TwoStations, as_text, build_two_stations

# --- Probes: how one pattern is exercised ---------------------------------------------------------------

Params = dict[str, Any]
Fill = Callable[[TwoStations], Any]

REFUSED = {403, 404}  # a detail or an action on A's row
REFUSED_BODY = {400, 403, 404}  # a write that names A's rows in its body: a field error is a refusal too


@dataclass(frozen=True)
class Skip:
    """Public by design, or holds nothing of anyone's (tests/test_security.py covers these)."""

    why: str


@dataclass(frozen=True)
class Admin:
    """Django admin: a station officer is not staff, every admin URL sends them to the admin login."""


@dataclass(frozen=True)
class Read:
    """A GET that answers B (a list, a state, a page, an export, or B's own row): nothing of A's in it.
    `pk` fills the URL with one of B's rows; `kind` names the rows a list returns (their ids are checked
    against A's); every variant of `params` is tried, plus the generic A-search variants."""

    kind: str | None = None
    pk: Fill | None = None
    params: Callable[[TwoStations], list[Params]] = lambda s: []
    ok: frozenset[int] = frozenset({200})
    page: bool = False  # an HTML page: sessions only


@dataclass(frozen=True)
class Refuse:
    """A request on A's row (`kind`, or `pk` for a particular one): 403 or 404, never anything of A's."""

    kind: str = ""
    method: str = "get"
    body: Callable[[TwoStations], Any] = lambda s: {}
    pk: Fill | None = None
    params: Params = field(default_factory=dict)
    page: bool = False


@dataclass(frozen=True)
class Send:
    """A write to a collection whose body names A's rows: refused (400/403/404), nothing stored."""

    body: Callable[[TwoStations], Any]
    method: str = "post"


@dataclass(frozen=True)
class Fresh:
    """A write whose body names a key another area already used (A's call id): answered exactly as the
    same body with a key never used — same status, same fields, nothing of A's. Each is rolled back (it
    makes B a row of its own), so the walk changes nothing."""

    body: Callable[[TwoStations], Any]
    fresh: Callable[[TwoStations], Any]


Probe = Skip | Admin | Read | Refuse | Send | Fresh


def generic_searches(s: TwoStations) -> list[Params]:
    """What B might try on any list: A's org, A's numbers, phones, address, marker — and a big page."""
    return [
        {},
        {"org": s.a.pk},
        {"q": s.numbers[0]},
        {"q": A_PHONES[0]},
        {"q": "翠柳巷"},
        {"q": MARK},
        {"page_size": 500},
    ]


def a_task_body(s: TwoStations) -> dict[str, Any]:
    return {"text": "已落实", "checklist": [{"action": a, "done": True, "note": ""} for a in s.task.actions]}


def intake_body(s: TwoStations, **over: Any) -> dict[str, Any]:
    body = {"call_id": "B-PROBE", "source": "110", "address": "白杨路2号", "category": "020500"}
    return {**body, **over}


def eido_body(s: TwoStations) -> dict[str, Any]:
    """B's own incident as an EIDO, but under the tracking id of A's incident: an update of A's."""
    doc = eido.incident_eido(s.b_incident, now=timezone.now())
    doc["incidentComponent"][0]["incidentTrackingIdentifier"] = eido.urn("incidentid", s.numbers[0])
    return doc


API = "api/"
PK = "(?P<pk>[^/.]+)"

TABLE: dict[str, list[Probe]] = {
    # --- Kernel ---
    "": [Read(page=True, ok=frozenset({200, 302}))],  # the home page sends a role to its working screen
    "login/": [Skip("the login page")],
    "logout/": [Skip("logging out touches nobody's business (and would end the walk's session)")],
    "i18n/setlang/": [Skip("the language switch: a cookie")],
    "healthz": [Skip("health: no business data")],
    "metrics": [Skip("counts over the whole deployment, for the operator's Prometheus (token or loopback), no rows")],
    "favicon.ico": [Skip("the site's icon")],
    "api/auth/token/": [Skip("a password for a token")],
    "api/auth/tokens/": [Read(kind="token", params=lambda s: [{"user": s.world.station_a1_officer.pk}])],
    "api/auth/tokens/revoke-all/": [
        Skip("names nobody: revokes the caller's own tokens (the walk's too); tests/command_center/test_tokens.py")
    ],
    "api/auth/tokens/<slug:pk>/": [Refuse("token", "delete")],
    "api/schema/": [Skip("the API schema")],
    "api/docs/": [Skip("the API docs")],
    "api/me/": [Read()],
    "api/live/": [Read()],
    "api/orgs/": [Read(kind="org")],
    "api/codes/categories/": [Read()],
    "api/codes/results/": [Read()],
    "api/codes/supervision-levels/": [Read()],
    # The gazetteer is the city's geography, shared by every org: it holds nobody's incidents (tests/places).
    "api/places/search/": [Skip("the city's gazetteer: streets and places, nobody's business")],
    "api/places/reverse/": [Skip("the city's gazetteer: the nearest address to a point")],
    "api/places/map/": [Read()],
    # --- Screens' state (board roles only; the chief has them) ---
    "api/board/": [Read(ok=frozenset({200, 403}))],
    "api/board/stats/": [Read(ok=frozenset({200, 403}))],
    "api/board/inbox/": [Read()],
    # --- Incidents ---
    "api/^incidents/$": [
        Read(
            kind="incident",
            params=lambda s: [
                {"state": "received"},
                {"repeat": "true"},
                {"overdue": "true"},
                {"category": "02"},
                {"q": s.numbers[-1]},
                {"q": A_ADDRESS},
            ],
        ),
        Send(lambda s: intake_body(s, repeat_of=s.incident.pk)),
        Send(lambda s: intake_body(s, org=s.a.pk)),
        # A's call id again: not B's to read, nor to learn that it is taken.
        Fresh(lambda s: intake_body(s, call_id=s.incident.call_id), lambda s: intake_body(s, call_id="NEVER-USED")),
    ],
    "api/^incidents/export/$": [
        Read(params=lambda s: [{"file": f, **p} for f in ("csv", "xlsx") for p in generic_searches(s)])
    ],
    "api/^incidents/hints/$": [
        Read(
            params=lambda s: [
                {"phone": A_PHONES[0]},
                {"phone": A_PHONES[1]},
                {"address": A_ADDRESS},
                {"lat": A_SCENE[0], "lon": A_SCENE[1], "category": "020500"},
                {"phone": A_PHONES[0], "address": A_ADDRESS, "lat": A_SCENE[0], "lon": A_SCENE[1]},
            ]
        )
    ],
    f"api/^incidents/{PK}/$": [Refuse("incident"), Read(pk=lambda s: s.b_incident.pk)],
    f"api/^incidents/{PK}/self-handle/$": [Refuse("incident", "post")],
    f"api/^incidents/{PK}/divert/$": [Refuse("incident", "post", lambda s: {"partner": s.world.partner.pk})],
    f"api/^incidents/{PK}/invalidate/$": [Refuse("incident", "post", lambda s: {"reason": "probe"})],
    f"api/^incidents/{PK}/merge/$": [
        Refuse("incident", "post", lambda s: {"into": s.b_incident.pk}),
        # B's own incident into A's: A's incident is not B's to name.
        Refuse(pk=lambda s: s.b_incident.pk, method="post", body=lambda s: {"into": s.incident.pk}, kind="body"),
        # ... nor by the number a person reads.
        Refuse(
            pk=lambda s: s.b_incident.pk,
            method="post",
            body=lambda s: {"into_number": s.incident.number},
            kind="body",
        ),
    ],
    f"api/^incidents/{PK}/correct/$": [Refuse("incident", "post", lambda s: {"level": 1, "reason": "probe"})],
    f"api/^incidents/{PK}/link/$": [
        Refuse("incident", "post", lambda s: {"master": s.b_incident.pk, "link_type": "repeat"}),
        Refuse(
            pk=lambda s: s.b_incident.pk,
            method="post",
            body=lambda s: {"master": s.incident.pk, "link_type": "repeat"},
            kind="body",
        ),
    ],
    f"api/^incidents/{PK}/feedback/$": [Refuse("incident", "post", lambda s: {"text": "probe", "result": "05"})],
    f"api/^incidents/{PK}/clear-scene/$": [Refuse("incident", "post")],
    f"api/^incidents/{PK}/close/$": [Refuse("incident", "post")],
    f"api/^incidents/{PK}/callback/$": [
        Refuse("incident", "post", lambda s: {"channel": "phone", "satisfaction": "satisfied"})
    ],
    # NENA EIDO (incidents/eido.py): A's incident is not B's to export; a document naming A's incident by
    # its tracking id is refused (B may not correct it) and stores nothing.
    "api/incidents/<int:pk>/eido/": [Refuse("incident"), Read(pk=lambda s: s.b_incident.pk)],
    "api/eido/": [Send(eido_body)],
    "api/incidents/<int:pk>/recommendations/": [Refuse("incident"), Read(kind="unit", pk=lambda s: s.b_incident.pk)],
    "api/incidents/<int:pk>/dispatch/": [
        Refuse("incident", "post", lambda s: {"unit": s.b_unit.pk}),
        Refuse(pk=lambda s: s.b_incident.pk, method="post", body=lambda s: {"unit": s.unit.pk}, kind="body"),
        Refuse(pk=lambda s: s.b_incident.pk, method="post", body=lambda s: {"org": s.a.pk}, kind="body"),
    ],
    "api/^diversions/$": [Read(kind="diversion", params=lambda s: [{"state": "pushed"}])],
    "api/^diversions/inbox/$": [Read()],
    f"api/^diversions/{PK}/$": [Refuse("diversion")],
    # A partner's webhook endpoints: its own people's alone (B holds every police role, not the partner's).
    "api/^webhooks/$": [
        Read(kind="webhook"),
        Send(lambda s: {"url": "https://b.example/hook", "events": ["diversion.pushed"]}),
    ],
    f"api/^webhooks/{PK}/$": [Refuse("webhook"), Refuse("webhook", "patch", lambda s: {"active": False})],
    f"api/^webhooks/{PK}/rotate-secret/$": [Refuse("webhook", "post")],
    f"api/^diversions/{PK}/accept/$": [Refuse("diversion", "post")],
    f"api/^diversions/{PK}/return/$": [Refuse("diversion", "post", lambda s: {"reason": "probe"})],
    f"api/^diversions/{PK}/complete/$": [Refuse("diversion", "post", lambda s: {"result": "probe"})],
    # Handling guides are the city's rules, the same for every area; a feedback's ticks stay with its incident.
    "api/^guides/match/$": [
        Read(
            params=lambda s: [{"category": "020530", "level": 3}, {"category": "090220", "level": 1}],
            ok=frozenset({200, 400}),  # the generic searches name no category: a field error
        )
    ],
    f"api/^guides/{PK}/$": [Read(pk=lambda s: s.guide.pk)],
    # Every rule, counted over the reader's area: B's counters hold none of A's proposals or diversions.
    "api/^diversion-rules/$": [Read()],
    # --- Dispatch ---
    "api/^units/$": [Read(kind="unit", params=lambda s: [{"q": f"{MARK}-01"}, {"status": "available"}])],
    "api/^units/positions/$": [
        Send(lambda s: {"positions": [{"unit": s.unit.pk, "lat": 30.1, "lon": 120.1}]}),
        Send(
            lambda s: {
                "positions": [
                    {"unit": s.b_unit.pk, "lat": 30.1, "lon": 120.1},
                    {"unit": s.unit.pk, "lat": 30.1, "lon": 120.1},
                ]
            }
        ),
    ],
    f"api/^units/{PK}/$": [Refuse("unit"), Read(pk=lambda s: s.b_unit.pk)],
    f"api/^units/{PK}/position/$": [Refuse("unit", "post", lambda s: {"lat": 30.1, "lon": 120.1})],
    f"api/^units/{PK}/status/$": [Refuse("unit", "post", lambda s: {"status": "busy"})],
    "api/^orders/$": [
        Read(
            kind="order",
            params=lambda s: [
                {"incident": s.incident.pk},
                {"unit": s.unit.pk},
                {"live": "true"},
                {"state": "returned"},
            ],
        )
    ],
    f"api/^orders/{PK}/$": [Refuse("order"), Read(pk=lambda s: s.b_order.pk)],
    f"api/^orders/{PK}/deliver/$": [Refuse("order", "post")],
    f"api/^orders/{PK}/sign/$": [Refuse("order", "post")],
    f"api/^orders/{PK}/arrive/$": [Refuse("order", "post")],
    f"api/^orders/{PK}/done/$": [Refuse("order", "post")],
    f"api/^orders/{PK}/return/$": [Refuse("order", "post", lambda s: {"reason": "probe"})],
    f"api/^orders/{PK}/cancel/$": [Refuse("order", "post", lambda s: {"reason": "probe"})],
    f"api/^orders/{PK}/reassign/$": [
        Refuse("order", "post", lambda s: {"unit": s.b_unit.pk, "reason": "probe"}),
        # B's own order to A's unit or A's station: not B's to send.
        Refuse(
            pk=lambda s: s.b_order.pk, method="post", body=lambda s: {"unit": s.unit.pk, "reason": "p"}, kind="body"
        ),
        Refuse(pk=lambda s: s.b_order.pk, method="post", body=lambda s: {"org": s.a.pk, "reason": "p"}, kind="body"),
    ],
    "api/^shifts/$": [
        Read(
            kind="shift",
            params=lambda s: [{"person": s.shift.person_id}, {"unit": s.unit.pk}, {"is_commander": "false"}],
        )
    ],
    "api/^shifts/current/$": [
        Read(params=lambda s: [{"subtree": "true"}, {"org": s.b.pk, "subtree": "true"}], ok=frozenset({200, 400})),
        Refuse(params={"org": "A"}, kind="query"),  # A's org named: 400, nothing of A's
    ],
    # --- The loop ---
    "api/^analyses/$": [
        Read(kind="analysis", params=lambda s: [{"state": "published"}]),
        Send(lambda s: {"title": "probe", "incidents": [s.incident.pk]}),
        Send(lambda s: {"title": "probe", "clusters": [s.cluster.pk]}),
        # 研判 from A's 网情 warning, event or post: not B's to open.
        Send(lambda s: {"sentiment_warning": min(s.ids["sentiment_warning"])}),
        Send(lambda s: {"sentiment_event": min(s.ids["sentiment_event"])}),
        Send(lambda s: {"sentiment_post": min(s.ids["sentiment_post"])}),
    ],
    f"api/^analyses/{PK}/$": [
        Refuse("analysis"),
        Refuse("analysis", "patch", lambda s: {"title": "probe"}),
    ],
    f"api/^analyses/{PK}/publish/$": [Refuse("analysis", "post")],
    "api/^directives/$": [
        Read(
            kind="directive",
            params=lambda s: [{"recipient": s.a.pk}, {"issuer_org": s.world.city.pk}, {"q": MARK}],
        ),
        Send(lambda s: {"title": "probe", "content": "probe", "recipients": [s.a.pk]}),
        Send(lambda s: {"title": "probe", "content": "probe", "recipients": [s.b.pk], "analysis": s.analysis.pk}),
    ],
    f"api/^directives/{PK}/$": [Refuse("directive"), Read(pk=lambda s: s.shared.pk)],
    f"api/^directives/{PK}/report/$": [
        Refuse("directive"),
        Refuse("directive", params={"format": "xlsx"}),
        Refuse(pk=lambda s: s.closed_directive.pk, params={"format": "xlsx"}, kind="closed"),
        Read(pk=lambda s: s.shared.pk, params=lambda s: [{"format": "json"}, {"format": "xlsx"}]),
    ],
    f"api/^directives/{PK}/withdraw/$": [Refuse("directive", "post")],
    "api/^tasks/$": [
        Read(
            kind="task",
            params=lambda s: [
                {"directive": s.directive.pk},
                {"directive": s.shared.pk},
                {"overdue": "true"},
                {"open": "false"},
            ],
        )
    ],
    f"api/^tasks/{PK}/$": [Refuse("task"), Read(pk=lambda s: s.b_shared_task.pk)],
    f"api/^tasks/{PK}/sign/$": [Refuse("task", "post")],
    f"api/^tasks/{PK}/assign/$": [Refuse("task", "post", lambda s: {"assignee": None})],
    f"api/^tasks/{PK}/start/$": [Refuse("task", "post")],
    f"api/^tasks/{PK}/report/$": [Refuse("task", "post", a_task_body)],
    f"api/^tasks/{PK}/approve/$": [Refuse("task", "post")],
    f"api/^tasks/{PK}/return/$": [Refuse("task", "post", lambda s: {"reason": "probe"})],
    "api/attachments/<int:pk>/": [Refuse("attachment")],
    "api/clusters/<int:pk>/govern/": [Refuse("cluster", "post")],
    # --- Supervision ---
    "api/^reminders/$": [
        Read(kind="reminder", params=lambda s: [{"task": s.task.pk}, {"recipient": s.a.pk}, {"level": 1}])
    ],
    f"api/^reminders/{PK}/$": [Refuse("reminder")],
    f"api/^reminders/{PK}/acknowledge/$": [Refuse("reminder", "post")],
    "api/^supervision-orders/$": [
        Read(kind="supervision_order", params=lambda s: [{"task": s.task.pk}, {"open": "true"}])
    ],
    f"api/^supervision-orders/{PK}/$": [Refuse("supervision_order")],
    "api/^watch/$": [
        Read(kind="watch", params=lambda s: [{"all": "true"}]),
        Send(lambda s: {"incident": s.incident.pk}),
        Send(lambda s: {"task": s.task.pk}),
    ],
    f"api/^watch/{PK}/$": [Refuse("watch", "delete")],
    "api/review/": [Read(params=lambda s: [{"limit": 500}])],
    "api/overdue/": [Read(kind="deadline", params=lambda s: [{"kind": "dispatch."}, {"kind": "intel."}])],
    # Measures: A's org answers 404, an unknown filter 400 (strict); B's own figures hold nothing of A's.
    "api/kpis/": [Read(params=lambda s: [{"org": s.a.pk}, {"period": "day"}], ok=frozenset({200, 400, 404}))],
    "api/kpis/<slug:key>/rows/": [
        Read(
            kind="incident",
            pk=lambda s: "repeat_rate",
            params=lambda s: [{"org": s.a.pk}],
            ok=frozenset({200, 400, 404}),
        ),
        Read(
            kind="order",
            pk=lambda s: "sign_30s_rate",
            params=lambda s: [{"period": "day"}],
            ok=frozenset({200, 400, 404}),
        ),
    ],
    "api/kpis/export/": [Read(params=lambda s: [{"org": s.a.pk}, {"file": "csv"}], ok=frozenset({200, 400, 404}))],
    "api/kpis/<slug:key>/trend/": [
        Read(pk=lambda s: "sign_30s_rate", params=lambda s: [{"org": s.a.pk}], ok=frozenset({200, 400, 404}))
    ],
    "api/kpis/<slug:key>/ranking/": [
        Read(pk=lambda s: "repeat_rate", params=lambda s: [{"org": s.a.pk}], ok=frozenset({200, 400, 404}))
    ],
    "api/kpis/<slug:key>/breakdown/": [
        Read(
            pk=lambda s: "diversion_accepted_rate",
            params=lambda s: [{"org": s.a.pk, "by": "partner"}, {"by": "partner"}],
            ok=frozenset({200, 400, 404}),
        ),
        Read(
            pk=lambda s: "clusters_governed_rate",
            params=lambda s: [{"org": s.a.pk, "by": "kind"}, {"by": "theme"}],
            ok=frozenset({200, 400, 404}),
        ),
    ],
    # Scores: B reads its own row only (no score of A's is computed here: a missing id is 404 like A's would).
    "api/scores/": [Read(params=lambda s: [{"period": "week"}, {"level": "county"}], ok=frozenset({200, 400}))],
    "api/scores/compute/": [Refuse(method="post", body=lambda s: {"period": "month", "date": "2026-11-01"})],
    "api/scores/<int:pk>/": [Refuse(pk=lambda s: 999999)],
    "api/^bulletins/$": [Read(kind="bulletin", params=lambda s: [{"state": "draft"}, {"kind": "daily"}])],
    f"api/^bulletins/{PK}/$": [Refuse("bulletin"), Refuse("bulletin", "patch", lambda s: {"summary": "probe"})],
    f"api/^bulletins/{PK}/publish/$": [Refuse("bulletin", "post")],
    f"api/^bulletins/{PK}/docx/$": [Refuse("bulletin")],
    f"api/^bulletins/{PK}/xlsx/$": [Refuse("bulletin")],
    # --- The morning report and the duty log (briefing/): a report is its org's subtree's (A's county is
    # above B), a duty log its station's.
    "api/^briefing/reports/$": [
        Read(kind="daily_report", params=lambda s: [{"state": "draft"}, {"org": s.world.county_a.pk}])
    ],
    f"api/^briefing/reports/{PK}/$": [
        Refuse("daily_report"),
        Refuse("daily_report", "patch", lambda s: {"body": "probe", "version": 1}),
    ],
    f"api/^briefing/reports/{PK}/publish/$": [Refuse("daily_report", "post")],
    f"api/^briefing/reports/{PK}/redraft/$": [Refuse("daily_report", "post")],
    f"api/^briefing/reports/{PK}/docx/$": [Refuse("daily_report")],
    f"api/^briefing/reports/{PK}/pdf/$": [Refuse("daily_report")],
    "api/briefing/preview/": [Skip("renders the Markdown it is sent: reads no row")],
    "api/^briefing/duty-logs/$": [Read(kind="duty_log", params=lambda s: [{"state": "open"}, {"org": s.a.pk}])],
    f"api/^briefing/duty-logs/{PK}/$": [
        Refuse("duty_log"),
        Refuse("duty_log", "patch", lambda s: {"handover": "probe"}),
    ],
    f"api/^briefing/duty-logs/{PK}/notes/$": [Refuse("duty_log", "post", lambda s: {"text": "probe"})],
    f"api/^briefing/duty-logs/{PK}/sign/$": [Refuse("duty_log", "post")],
    "api/overdue/<int:pk>/remind/": [Refuse("deadline", "post", lambda s: {"note": "probe"})],
    "api/overdue/<int:pk>/supervise/": [Refuse("deadline", "post", lambda s: {"note": "probe"})],
    # --- 网情 (sentiment/api.py): posts, events and warnings lie in the area that scoring placed them in;
    # a watch hit lets the watching org read the post it caught. Posts come in at the top of the tree only.
    "api/^sentiment/posts/$": [
        Read(kind="sentiment_post", params=lambda s: [{"flagged": "true"}, {"police": "true"}, {"q": "东湖"}]),
        Send(
            lambda s: [
                {
                    "source": "weibo",
                    "external_id": "B-PROBE",
                    "text": "probe",
                    "published_at": "2026-01-01T00:00:00+08:00",
                }
            ]
        ),
    ],
    f"api/^sentiment/posts/{PK}/$": [Refuse("sentiment_post")],
    "api/^sentiment/events/$": [Read(kind="sentiment_event", params=lambda s: [{"risk": "red"}])],
    f"api/^sentiment/events/{PK}/$": [Refuse("sentiment_event")],
    "api/^sentiment/warnings/$": [Read(kind="sentiment_warning", params=lambda s: [{"state": "open"}])],
    f"api/^sentiment/warnings/{PK}/$": [Refuse("sentiment_warning")],
    f"api/^sentiment/warnings/{PK}/dismiss/$": [Refuse("sentiment_warning", "post")],
    "api/^sentiment/watchlists/$": [
        Read(kind="watchlist"),
        Send(lambda s: {"org": s.a.pk, "name": "probe", "expression": "打架"}),
    ],
    f"api/^sentiment/watchlists/{PK}/$": [
        Refuse("watchlist"),
        Refuse("watchlist", "patch", lambda s: {"expression": "probe"}),
    ],
    "api/^sentiment/hits/$": [Read(kind="hit")],
    f"api/^sentiment/hits/{PK}/acknowledge/$": [Refuse("hit", "post")],
    "api/sentiment/state/": [Read()],
    # CAP 1.2 (intel/cap.py): A's hotspot and A's 网情 warning are not B's to publish, whatever B's roles.
    "api/cap/hotspots/<int:pk>/": [Refuse("hotspot")],
    "api/cap/sentiment-warnings/<int:pk>/": [Refuse("sentiment_warning")],
    "api/hotspots/": [
        Read(
            ok=frozenset({200, 400, 403}),
            params=lambda s: [{"period": "week"}, {"area": "station"}, {"category": "020500"}],
        )
    ],
    "api/hotspots/incidents/": [
        Read(
            ok=frozenset({200, 400, 403}),
            params=lambda s: [
                {"key": hotspots.cell_of(*A_SCENE)},
                {"key": s.a.pk, "area": "station"},
                {"key": hotspots.cell_of(*A_SCENE), "org": s.a.pk},
                {"key": s.a.pk, "area": "station", "period": "month"},
            ],
        )
    ],
    "api/hotspots/analyse/": [
        Send(lambda s: {"key": hotspots.cell_of(*A_SCENE)}),
        Send(lambda s: {"key": s.a.pk, "area": "station"}),
        Send(lambda s: {"key": hotspots.cell_of(*A_SCENE), "org": s.a.pk}),
    ],
    # Naming A's org is a field error (400), never A's counts.
    "api/sentiment/spikes/": [Read(ok=frozenset({200, 400}), params=lambda s: [{"hours": 48}, {"category": "020100"}])],
    # --- 社情 (community/api.py): reports are their station's; a volunteer's own are theirs alone. B is no
    # volunteer: a report B posts is refused on its `volunteer` field.
    "api/^community/reports/$": [
        Read(kind="community_report", params=lambda s: [{"state": "submitted"}, {"kind": "clue"}]),
        Send(lambda s: {"kind": "hazard", "category": "fire_hazard", "text": "probe"}),
    ],
    "api/^community/reports/queue/$": [Read()],
    f"api/^community/reports/{PK}/$": [Refuse("community_report")],
    f"api/^community/reports/{PK}/make-incident/$": [Refuse("community_report", "post")],
    f"api/^community/reports/{PK}/task/$": [Refuse("community_report", "post", lambda s: {"note": "probe"})],
    f"api/^community/reports/{PK}/forward/$": [
        Refuse("community_report", "post", lambda s: {"target": s.world.partner.pk})
    ],
    f"api/^community/reports/{PK}/close/$": [Refuse("community_report", "post", lambda s: {"reason": "probe"})],
    "api/community/photos/<int:pk>/": [Refuse("community_photo")],
    "api/community/volunteers/": [Read(kind="volunteer")],
    "api/community/points/": [Read()],
    "api/community/categories/": [Read()],
    "community/": [Read(page=True, ok=frozenset({403}))],
    "community/triage/": [Read(page=True)],
    "community/volunteers/": [Read(page=True)],
    # --- Pages ---
    "incidents/": [
        Read(
            page=True,
            params=lambda s: [{"state": "received"}, {"repeat": "true"}, {"q": s.numbers[-1]}, {"q": A_ADDRESS}],
        )
    ],
    "incidents/intake/": [Read(page=True)],
    # The rules' counters over the reader's area (command roles; a station officer is refused).
    "incidents/diversion-rules/": [Read(page=True, ok=frozenset({200, 403}))],
    "incidents/<int:pk>/": [Refuse("incident", page=True), Read(page=True, pk=lambda s: s.b_incident.pk)],
    "partner/": [Read(page=True, ok=frozenset({200, 403}), params=lambda s: [{"state": "pushed"}])],
    "dispatch/board/": [Read(page=True, ok=frozenset({200, 302}))],
    "dispatch/inbox/": [Read(page=True, ok=frozenset({200, 302}))],
    "dispatch/wall/": [Read(page=True, ok=frozenset({200, 302}))],
    "dispatch/units/": [Read(page=True, ok=frozenset({200, 403}), params=lambda s: [{"status": "available"}])],
    "intel/": [Read(page=True, ok=frozenset({200, 302, 403}))],
    "intel/directives/<int:pk>/": [
        Refuse("directive", page=True),
        Read(page=True, pk=lambda s: s.shared.pk, ok=frozenset({200, 302, 403})),
    ],
    "intel/directives/<int:pk>/report/": [
        Refuse("directive", page=True),
        Refuse(pk=lambda s: s.closed_directive.pk, kind="closed", page=True),
        Read(page=True, pk=lambda s: s.shared.pk, ok=frozenset({200, 302, 403})),
    ],
    "supervision/": [Read(page=True, ok=frozenset({200, 302, 403}))],
    "supervision/measures/": [Read(page=True, ok=frozenset({200, 403}))],
    "supervision/bulletins/": [Read(page=True, ok=frozenset({200, 403}))],
    "supervision/scores/": [Read(page=True, ok=frozenset({200, 403}))],
    "supervision/bulletins/<int:pk>/": [Refuse("bulletin", page=True)],
    "briefing/": [Read(page=True)],
    "briefing/reports/<int:pk>/": [Refuse("daily_report", page=True)],
    # B's own log of today (generated for B when B opens it): nothing of A's in it.
    "briefing/duty/": [Read(page=True, ok=frozenset({200, 404}))],
    "briefing/duty/<int:pk>/": [Refuse("duty_log", page=True)],
    # 数字督察 (supervision/inspection.py)
    "api/^inspection/findings/$": [
        Read(kind="finding", params=lambda s: [{"state": "open"}, {"rule": "closed_without_arrival"}])
    ],
    f"api/^inspection/findings/{PK}/$": [Refuse("finding")],
    f"api/^inspection/findings/{PK}/confirm/$": [Refuse("finding", "post", lambda s: {"reason": "probe"})],
    f"api/^inspection/findings/{PK}/dismiss/$": [Refuse("finding", "post", lambda s: {"reason": "probe"})],
    "api/inspection/rules/": [Read()],
    "api/inspection/rules/<slug:key>/": [
        Read(pk=lambda s: "closed_without_arrival"),
        Refuse(pk=lambda s: "closed_without_arrival", method="patch", body=lambda s: {"enabled": False}),
    ],
    "supervision/inspection/": [Read(page=True, ok=frozenset({200, 302, 403}))],
    # 反馈审核 (supervision/feedback_review.py): rows are feedback forms, keyed by the feedback's id. The
    # sampling rule is read only here: B's chief setting B's own rule names nothing of A's (and would change
    # the database the walk must leave alone); tests/supervision/test_feedback_review.py covers the PUT.
    "api/^feedback-reviews/$": [
        Read(
            kind="feedback",
            params=lambda s: [
                {"state": "all", "sample": "false"},
                {"state": "returned"},
                {"org": s.a.pk, "sample": "false"},
                {"result": "05", "state": "all"},
            ],
        )
    ],
    "api/^feedback-reviews/sampling/$": [Read()],
    f"api/^feedback-reviews/{PK}/$": [Refuse("feedback")],
    f"api/^feedback-reviews/{PK}/accept/$": [Refuse("feedback", "post", lambda s: {"note": "probe"})],
    f"api/^feedback-reviews/{PK}/return/$": [Refuse("feedback", "post", lambda s: {"note": "probe"})],
    f"api/^feedback-reviews/{PK}/rectify/$": [Refuse("feedback", "post", lambda s: {"text": "probe"})],
    "supervision/feedback/": [Read(page=True, ok=frozenset({200, 302, 403}))],
    "supervision/feedback/rework/": [Read(page=True, ok=frozenset({200, 403}))],
    # 热点 (intel/hotspots_api.py): counts of the caller's subtree only; A's org named is a 400, A's cell or
    # station asked for shows nothing of A's, and 研判 from it is refused; A's kept hotspot's page is a 404.
    "intel/hotspots/": [
        Read(page=True, ok=frozenset({200, 302, 404}), params=lambda s: [{"hotspot": min(s.ids["hotspot"])}]),
    ],
    # 网情 pages (sentiment/views.py): the monitor reads the caller's area; A's events and posts are a 404.
    "sentiment/": [Read(page=True, ok=frozenset({200, 302, 403}))],
    "sentiment/events/<int:pk>/": [Refuse("sentiment_event", page=True)],
    "sentiment/posts/<int:pk>/": [Refuse("sentiment_post", page=True)],
}

ADMIN_PREFIX = "admin/"
# The admin's own login and logout, and treebeard's translation catalog: public, nobody's data.
ADMIN_FORMS = {"/admin/login/", "/admin/logout/", "/admin/command_center/org/jsi18n/"}


# --- Walking the resolver ------------------------------------------------------------------------------


def patterns() -> list[str]:
    """Every URL pattern of the project, as its pieces concatenated (route or regex)."""

    def walk(entries: list[URLPattern | URLResolver], prefix: str) -> Iterator[str]:
        for e in entries:
            if isinstance(e, URLResolver):
                yield from walk(e.url_patterns, prefix + str(e.pattern))
            else:
                yield prefix + str(e.pattern)

    return sorted(set(walk(get_resolver().url_patterns, "")))


def url(pattern: str, pk: Any = 1) -> str:
    p = re.sub(r"\\\.\(\?P<format>[^)]*\)/\?", "", pattern)
    p = re.sub(r"\(\?P<\w+>[^)]*\)", str(pk), p)
    p = re.sub(r"<(?:\w+:)?\w+>", str(pk), p)
    p = p.replace("^", "").replace("$", "").replace("\\", "")
    return "/" + re.sub(r"[?*+]", "", p)


def test_the_table_knows_every_pattern():
    """A new URL pattern must say here how station B is kept out of it (and stale entries go)."""
    found = [p for p in patterns() if not p.startswith(ADMIN_PREFIX)]
    assert sorted(set(found) - set(TABLE)) == [], "add these patterns to TABLE"
    assert sorted(set(TABLE) - set(found)) == [], "these TABLE entries match no pattern any more"


# --- What B must not see -------------------------------------------------------------------------------

ORG_KEYS = {"org", "org_id", "recipient", "by_org"}
ID_KEYS = {
    "incident": "incident",
    "order": "order",
    "unit": "unit",
    "task": "task",
    "cluster": "cluster",
    "diversion": "diversion",
    "deadline": "deadline",
    "bulletin": "bulletin",
    "analysis": "analysis",
    "directive": "directive",
    "merged_into": "incident",
    "master": "incident",
    "feedback": "feedback",
    "event": "sentiment_event",
    "post": "sentiment_post",
    "hotspot": "hotspot",
}


def leaks(s: TwoStations, body: Any, text: str, kind: str | None, typed: Sequence[str] = ()) -> list[str]:
    """What of A's the body shows: markers in its text (but those B typed, echoed in a search box), A's org
    in an org field, A's ids in id fields, and A's rows among a list's results."""
    found = [f"marker {m!r}" for m in s.markers() if m in text and not any(m in t for t in typed)]

    def ident(value: Any) -> Any:
        return value.get("id") if isinstance(value, dict) else value

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ORG_KEYS and ident(value) == s.a.pk:
                    found.append(f"{key}={s.a.pk} (A) in {str(node)[:200]}")
                if key in ID_KEYS and isinstance(ident(value), int) and ident(value) in s.ids[ID_KEYS[key]]:
                    found.append(f"{key}={ident(value)} (A's) in {str(node)[:200]}")
                walk(value)
        elif isinstance(node, list):
            for x in node:
                walk(x)

    walk(body)
    if kind is not None and kind != "org":
        rows = body.get("results", body) if isinstance(body, dict) else body
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("id") in s.ids[kind]:
                found.append(f"{kind} {row['id']} (A's) listed")
    if kind == "org":
        rows = body.get("results", body) if isinstance(body, dict) else body
        found += [f"org {r['id']} (A) listed" for r in rows if r["id"] == s.a.pk]
    return found


def decode(response: Any) -> tuple[Any, str]:
    """(parsed body, its text) for JSON, CSV, XLSX, HTML and files."""
    ctype = response.get("Content-Type", "")
    raw = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    if "spreadsheetml" in ctype and raw[:2] == b"PK":
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(raw), read_only=True)
        cells = [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None]
        return cells, "\n".join(cells)
    text = raw.decode("utf-8-sig", errors="replace")
    if "json" in ctype and text:
        body = json.loads(text)
        return body, as_text(body)
    if "csv" in ctype:
        return list(csv.reader(io.StringIO(text))), text
    return None, text


# --- The walk ------------------------------------------------------------------------------------------


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the project's own apps (their M2M tables too): what nothing of B's may change."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for label in ("command_center", "incidents", "dispatch", "intel", "supervision"):
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            rows[model._meta.label] = list(model._default_manager.order_by("pk").values())
    for row in rows["command_center.ApiToken"]:
        del row["last_used_at"]  # the walk's own token records its use
    return rows


@dataclass
class Walk:
    s: TwoStations
    client: Client
    pages: bool  # a session: pages too
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    answered: int = 0  # reads that answered 200 (the walk really read something)

    def call(self, method: str, path: str, params: Params | None = None, body: Any = None) -> Any:
        self.requests += 1
        if method == "get":
            return self.client.get(path, params or {})
        return getattr(self.client, method)(path, data=json.dumps(body or {}), content_type="application/json")

    def check(
        self, label: str, response: Any, ok: set[int] | frozenset[int], kind: str | None, asked: Params | None = None
    ) -> None:
        if response.status_code not in ok:
            self.problems.append(f"{label} -> {response.status_code}, wanted {sorted(ok)}: {response.content[:200]!r}")
        if response.status_code == 302 and "login" in response.get("Location", ""):
            self.problems.append(f"{label} -> a login redirect: the walk's user was not logged in")
        if response.status_code in (301, 302):
            return
        body, text = decode(response)
        # What B typed comes back in a page's search box or a list's next link: not a leak of A's.
        typed = [str(v) for v in (asked or {}).values()]
        for leak in leaks(self.s, body, text, kind if response.status_code == 200 else None, typed):
            self.problems.append(f"{label}: {leak}")

    def run(self, pattern: str, probe: Probe) -> None:
        s = self.s
        if isinstance(probe, Skip):
            return
        if isinstance(probe, Admin):
            path = url(pattern)
            r = self.call("get", path)
            if path in ADMIN_FORMS:
                return
            if not (r.status_code in (302, 403, 404, 405) and (r.status_code != 302 or "login" in r["Location"])):
                self.problems.append(f"GET {path} -> {r.status_code}: admin open to a station officer")
            return
        if isinstance(probe, Read):
            if probe.page and not self.pages:
                return
            path = url(pattern, probe.pk(s) if probe.pk else 1)
            # One of B's rows: as it is (list filters would narrow it away); a list: every search too.
            variants = [{}, *probe.params(s)] if probe.pk else [*generic_searches(s), *probe.params(s)]
            for params in variants:
                r = self.call("get", path, params)
                self.answered += r.status_code == 200
                self.check(f"GET {path} {params}", r, probe.ok, probe.kind, params)
            return
        if isinstance(probe, Refuse):
            if probe.page and not self.pages:
                return
            pks = sorted(s.ids[probe.kind]) if probe.kind in s.ids else [probe.pk(s) if probe.pk else 1]
            params = {k: (s.a.pk if v == "A" else v) for k, v in probe.params.items()}
            wanted = REFUSED_BODY if probe.kind in ("body", "query") else REFUSED
            for pk in pks:
                path = url(pattern, pk)
                if probe.method == "get":
                    r = self.call("get", path, params)
                else:
                    r = self.call(probe.method, path, body=probe.body(s))
                self.check(f"{probe.method.upper()} {path} {params}", r, wanted, None)
            return
        if isinstance(probe, Send):
            path = url(pattern)
            body = probe.body(s)
            r = self.call(probe.method, path, body=body)
            self.check(f"{probe.method.upper()} {path} {body}", r, REFUSED_BODY, None)
            return
        if isinstance(probe, Fresh):
            path = url(pattern)
            answers = []
            for body in (probe.body(s), probe.fresh(s)):
                with transaction.atomic():
                    r = self.call("post", path, body=body)
                    transaction.set_rollback(True)
                self.check(f"POST {path} {body}", r, {201}, None)
                answers.append((r.status_code, sorted(json.loads(r.content))))
            if answers[0] != answers[1]:
                self.problems.append(f"POST {path}: a used key answers {answers[0]}, a free one {answers[1]}")
            return
        raise AssertionError(probe)


def client_for(user: Any, auth: str) -> Client:
    if auth == "token":
        _row, token = tokens.token_issue(user=user)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return api
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def two(db) -> TwoStations:
    with capture_broadcasts():
        return build_two_stations()


# The station officer by token and by session; the person with every role by session (pages and API alike:
# after authentication both run the same scoped code).
@pytest.mark.parametrize(("who", "auth"), [("b_officer", "token"), ("b_officer", "session"), ("b_chief", "session")])
def test_station_b_walks_every_url_and_sees_nothing_of_station_a(two, who, auth):
    s = two
    user = getattr(s, who)
    walk = Walk(s, client_for(user, auth), pages=auth == "session")
    before = snapshot()
    with capture_broadcasts() as pushed:
        for pattern in patterns():
            probes = [Admin()] if pattern.startswith(ADMIN_PREFIX) else TABLE[pattern]
            for probe in probes:
                walk.run(pattern, probe)
    assert walk.problems == [], f"{len(walk.problems)} problems:\n" + "\n".join(walk.problems)
    assert walk.requests > 500 and walk.answered > 100  # the walk really covered the site
    assert pushed == []  # nothing happened that a board would hear of
    after = snapshot()
    changed = [label for label in before if before[label] != after[label]]
    assert changed == [], f"B's requests changed {changed}"


def test_the_walk_would_see_a_leak(two):
    """The detector itself: what A's county sees of A is flagged as A's (so an empty result means
    something), and B's own rows are really listed to B."""
    s = two
    county = client_for(s.world.county_a_duty, "token")
    body, text = decode(county.get("/api/incidents/", {"org": s.a.pk}))
    assert leaks(s, body, text, "incident")
    body, text = decode(county.get("/api/incidents/export/", {"file": "xlsx"}))
    assert any(MARK in leak for leak in leaks(s, body, text, None))
    mine = client_for(s.b_officer, "token").get("/api/incidents/").json()["results"]
    assert [i["id"] for i in mine] == [s.b_incident.pk]


def test_the_rules_counters_count_only_the_readers_area(two):
    """A rule is the city's; its hits and confirmations are of incidents: A's county counts A's diverted
    call, station B counts none of it."""
    s = two
    county = {r["name"]: r for r in client_for(s.world.county_a_duty, "token").get("/api/diversion-rules/").json()}
    b = {r["name"]: r for r in client_for(s.b_chief, "token").get("/api/diversion-rules/").json()}
    assert (county["非警务转12345"]["hits"], county["非警务转12345"]["confirmed"]) == (1, 1)
    assert (b["非警务转12345"]["hits"], b["非警务转12345"]["confirmed"], b["非警务转12345"]["returned"]) == (0, 0, 0)


# --- Naming A's rows in a body answers as naming rows that do not exist ---------------------------------

MISSING = 987654


BODIES: list[tuple[str, Callable[[TwoStations, int], Any]]] = [
    ("/api/incidents/", lambda s, pk: intake_body(s, repeat_of=pk)),
    ("/api/incidents/{b}/merge/", lambda s, pk: {"into": pk}),
    ("/api/incidents/{b}/link/", lambda s, pk: {"master": pk, "link_type": "repeat"}),
    ("/api/incidents/{b}/dispatch/", lambda s, pk: {"unit": pk}),
    ("/api/watch/", lambda s, pk: {"incident": pk}),
    ("/api/analyses/", lambda s, pk: {"title": "probe", "incidents": [pk]}),
    ("/api/units/positions/", lambda s, pk: {"positions": [{"unit": pk, "lat": 30.1, "lon": 120.1}]}),
]


def test_a_s_ids_in_a_body_answer_as_ids_that_do_not_exist(two):
    """Otherwise B could tell from the message which of A's ids exist (an incident, a unit)."""
    s = two
    api = client_for(s.b_chief, "token")
    for path, body in BODIES:
        a_pk = (s.unit if "unit" in as_text(body(s, 0)) else s.incident).pk
        url_ = path.format(b=s.b_incident.pk)
        theirs = api.post(url_, body(s, a_pk), format="json")
        missing = api.post(url_, body(s, MISSING), format="json")
        assert theirs.status_code == missing.status_code == 400, path
        mine = as_text(theirs.json()).replace(str(a_pk), "ID")
        assert mine == as_text(missing.json()).replace(str(MISSING), "ID"), path


# --- The shared directive: B's part of it, never A's ---------------------------------------------------


def test_a_directive_to_both_stations_shows_b_only_its_own_task_and_report(two):
    s = two
    api = client_for(s.b_officer, "token")
    d = api.get(f"/api/directives/{s.shared.pk}/").json()
    assert d["title"] == "联合清查行动" and {r["id"] for r in d["recipients"]} == {s.a.pk, s.b.pk}
    assert [p["task"] for p in d["progress"]] == [s.b_shared_task.pk]
    listed = api.get("/api/directives/").json()["results"]
    assert [x["counts"] for x in listed if x["id"] == s.shared.pk] == [{"issued": 1}]  # B's task only
    # The directive's own file is B's to read; A's report file is not.
    [own] = d["attachments"]
    assert api.get(own["url"]).status_code == 200
    assert api.get(f"/api/attachments/{s.attachment.pk}/").status_code == 404
    report = api.get(f"/api/directives/{s.shared.pk}/report/").json()
    assert [r["org"] for r in report["recipients"]] == [s.b.pk]
    assert report["summary"]["recipients"] == 1 and MARK not in as_text(report)
    # The issuer still reads every recipient's part.
    full = client_for(s.world.analyst, "token").get(f"/api/directives/{s.shared.pk}/report/").json()
    assert {r["org"] for r in full["recipients"]} == {s.a.pk, s.b.pk} and MARK in as_text(full)
    assert len(client_for(s.world.analyst, "token").get(f"/api/directives/{s.shared.pk}/").json()["progress"]) == 2


# --- Pushes and the board socket ------------------------------------------------------------------------


def test_no_push_about_a_reaches_b_s_group(db, settings, tmp_path):
    """Every push the building of both stations' business made: none to B's group carries anything of A's."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    with capture_broadcasts() as pushed:
        s = build_two_stations()
    to_b = [m for m in pushed if m["group"] == f"org.{s.b.pk}"]
    assert to_b, "B's own business was pushed to B"
    problems = [p for m in to_b for p in leaks(s, m["data"], as_text(m["data"]), None)]
    assert problems == []
    # And A's group did hear of A's business (the check above is not vacuous).
    to_a = [m for m in pushed if m["group"] == f"org.{s.a.pk}"]
    assert any(leaks(s, m["data"], as_text(m["data"]), None) for m in to_a)


@pytest.mark.django_db(transaction=True)
def test_b_s_board_socket_hears_nothing_of_a(settings, tmp_path):
    """Station A's diversion, incident, order and task happen while A's, B's and the partner's boards are
    open: A's board hears them, B's hears nothing — also after B asks, in every way a client might, for A's
    group — and the partner hears only the diversion pushed to it, without the caller's number."""
    from asgiref.sync import sync_to_async

    from tests.command_center.test_realtime import open_board, run_async, session_cookie
    from tests.conftest import build_world
    from tests.factories import make_person

    settings.MEDIA_ROOT = str(tmp_path / "media")
    from command_center import codes
    from command_center.models import Role
    from dispatch import services as dispatch_services
    from dispatch.models import Unit
    from incidents import services as incident_services
    from intel import services as loop
    from intel.models import Task
    from tests.two_stations import _intake

    w = build_world()
    codes.load_defaults()
    a, b = w.station_a1, w.station_a2
    b_officer = make_person("b_officer", b, Role.STATION_OFFICER)
    unit = Unit.objects.create(call_sign=f"{MARK}-01", kind=Unit.Kind.PATROL_CAR, org=a, ring_minutes=3)
    cookie_a, cookie_b = session_cookie(w.station_a1_officer), session_cookie(b_officer)
    cookie_partner = session_cookie(w.partner_agent)

    def a_business() -> None:
        diverted = _intake(w, a, A_PHONES[2], A_ADDRESS, A_SCENE, 2, category="090000")
        incident_services.incident_divert(incident_id=diverted.pk, actor=w.duty, partner=w.partner)
        incident = _intake(w, a, A_PHONES[0], A_ADDRESS, A_SCENE, 1)
        order = dispatch_services.order_dispatch(incident_id=incident.pk, actor=w.duty, unit_id=unit.pk)
        dispatch_services.order_sign(order_id=order.pk, actor=w.station_a1_officer)
        d = loop.directive_issue(
            actor=w.analyst,
            data=loop.DirectiveData(title=f"{MARK} 指令", content=MARK, recipients=[a], actions=["巡逻"]),
        )
        t = Task.objects.get(carried__directive=d)
        loop.task_sign(task_id=t.pk, actor=w.station_a1_officer)

    async def go() -> None:
        board_a, _ = await open_board(cookie_a)
        board_b, hello = await open_board(cookie_b)
        partner, _ = await open_board(cookie_partner)
        assert hello["data"]["org"]["id"] == b.pk
        for ask in (
            {"type": "subscribe", "org": a.pk},
            {"type": "subscribe", "group": f"org.{a.pk}"},
            {"type": "group_add", "group": f"org.{a.pk}"},
            {"org": a.pk},
            {"type": "filter", "orgs": [a.pk]},
        ):
            await board_b.send_json_to(ask)
        await sync_to_async(a_business)()
        heard = []
        while not await board_a.receive_nothing(timeout=0.5):
            heard.append(await board_a.receive_json_from(timeout=1))
        events = {m["event"] for m in heard}
        assert {"incident.created", "order.sent", "order.signed", "task.issued", "task.signed"} <= events
        assert await board_b.receive_nothing(timeout=1)
        # The partner hears of the diversion pushed to it — and of nothing else, and never a number.
        to_partner = []
        while not await partner.receive_nothing(timeout=0.5):
            to_partner.append(await partner.receive_json_from(timeout=1))
        assert [m["event"] for m in to_partner] == ["diversion.pushed"]
        assert not any(p in as_text(to_partner) for p in A_PHONES) and "****" not in as_text(to_partner)
        for board in (board_a, board_b, partner):
            await board.disconnect()

    run_async(go)
