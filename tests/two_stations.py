"""Two sibling stations of one county, A (东湖, station_a1) and B (新华, station_a2), each with business of
every kind: what the cross-station walker (tests/test_cross_station.py) and the phone-masking tests
(tests/test_phone_masking.py) stand on.

Everything of A's that a person reads carries the marker `AMARK` in its text (addresses, narratives,
feedback, notes, titles, report texts, file names, call signs), or is one of A's incident numbers or caller
phones: a body shown to station B that contains any of them shows B something of A's. The directive
`shared` goes to both stations (B sees it, its content and its files, but not A's task, A's report or A's
files). Built through the services, as people would, so every row has its log, its clocks and its pushes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from command_center import clocks, codes, tokens
from command_center.models import Category, Deadline, Org, Person, Role
from dispatch import services as dispatch_services
from dispatch.models import DispatchOrder, Shift, Unit
from incidents import services as incident_services
from incidents.models import (
    Diversion,
    DiversionRule,
    Feedback,
    HandlingGuide,
    Incident,
    LinkType,
    PartnerWebhook,
    RepeatCluster,
)
from intel import hotspots
from intel import services as loop
from intel.models import Analysis, Attachment, ClosureReport, Directive, Hotspot, Task
from supervision import services as supervision_services
from supervision.models import Reminder, SupervisionOrder, Watch

from .conftest import World, build_world
from .factories import make_person

MARK = "AMARK"
A_POS = (30.2900, 120.1600)
B_POS = (30.3000, 120.2000)
A_SCENE = (30.2905, 120.1605)
B_SCENE = (30.3005, 120.2005)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"0" * 64

# Caller phones: A's callers and B's. A's never appear anywhere B looks, masked or not.
A_PHONES = ["13911110001", "13911110002", "13911110003", "13911110004"]
B_PHONE = "13622220001"
A_ADDRESS = f"翠柳巷88号{MARK}"
B_ADDRESS = "白杨路1号BMARK"


@dataclass
class TwoStations:
    world: World
    a: Org
    b: Org
    b_officer: User  # 新华派出所 接收岗: station officer only
    b_chief: User  # every police role at station B: only scope can refuse them
    a_analyst: User
    # A's rows, by kind (ids).
    ids: dict[str, set[Any]] = field(default_factory=dict)  # ints; API tokens: their str ids
    numbers: list[str] = field(default_factory=list)  # A's incident numbers
    call_signs: list[str] = field(default_factory=list)
    # Named rows the walker fills URLs with.
    incident: Incident = field(init=False)  # open, dispatched, with a live order
    closed: Incident = field(init=False)  # closed, with feedback and a dissatisfied callback
    repeat: Incident = field(init=False)  # linked to `incident` as a repeat
    diverted: Incident = field(init=False)  # diverted to the 12345 partner
    order: DispatchOrder = field(init=False)  # live (sent)
    unit: Unit = field(init=False)
    shift: Shift = field(init=False)
    diversion: Diversion = field(init=False)
    cluster: RepeatCluster = field(init=False)
    analysis: Analysis = field(init=False)
    directive: Directive = field(init=False)  # to A only, open (its sign clock broke: reminders and 督办)
    closed_directive: Directive = field(init=False)  # to A only, closed: a stored closure report
    shared: Directive = field(init=False)  # to A and B
    task: Task = field(init=False)  # A's task of `directive`
    shared_task: Task = field(init=False)  # A's task of `shared`, reported with a file
    b_shared_task: Task = field(init=False)  # B's task of `shared`
    attachment: Attachment = field(init=False)  # a file of A's report
    reminder: Reminder = field(init=False)
    supervision_order: SupervisionOrder = field(init=False)
    watch: Watch = field(init=False)
    b_incident: Incident = field(init=False)
    b_order: DispatchOrder = field(init=False)
    b_unit: Unit = field(init=False)
    guide: HandlingGuide = field(init=False)  # the noise guide A's feedback ticked (the city's, not A's)

    def markers(self) -> list[str]:
        """Strings of A's that must never reach station B: the marker, numbers, phones (also masked)."""
        masked = [p[:3] + "****" + p[-4:] for p in A_PHONES]
        return [MARK, *self.numbers, *A_PHONES, *masked, *self.call_signs]


def api_as(user: Any) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def _png(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def _intake(
    world: World, org: Org, phone: str, address: str, pos: tuple[float, float], n: int, **over: Any
) -> Incident:
    data = incident_services.IntakeData(
        call_id=f"X{org.pk}-{n}",
        source="110",
        address=address,
        category=Category.objects.get(code=over.pop("category", "020500")),
        caller_phone=phone,
        caller_name="李四",
        lat=pos[0],
        lon=pos[1],
        narrative=over.pop("narrative", f"楼上噪音 {address}"),
        org=org,
        **over,
    )
    incident, _created = incident_services.incident_intake(actor=world.duty, data=data)
    return Incident.objects.get(pk=incident.pk)


def build_two_stations() -> TwoStations:
    """The world, stations placed, and A's and B's business (see the module docstring)."""
    w = build_world()
    codes.load_defaults()
    Org.objects.filter(pk=w.station_a1.pk).update(lat=A_POS[0], lon=A_POS[1])
    Org.objects.filter(pk=w.station_a2.pk).update(lat=B_POS[0], lon=B_POS[1])
    a, b = Org.objects.get(pk=w.station_a1.pk), Org.objects.get(pk=w.station_a2.pk)
    w.station_a1, w.station_a2 = a, b
    s = TwoStations(
        world=w,
        a=a,
        b=b,
        b_officer=make_person("b_officer", b, Role.STATION_OFFICER),
        b_chief=make_person(
            "b_chief",
            b,
            Role.CALL_TAKER,
            Role.DUTY_OFFICER,
            Role.COMMANDER,
            Role.STATION_OFFICER,
            Role.ANALYST,
            Role.SUPERVISOR,
        ),
        a_analyst=make_person("a_analyst", a, Role.ANALYST),
    )
    officer_a = w.station_a1_officer
    now = timezone.now()

    # --- Units and the roster ---
    def unit(org: Org, sign: str, pos: tuple[float, float]) -> Unit:
        return Unit.objects.create(
            call_sign=sign, kind=Unit.Kind.PATROL_CAR, org=org, ring_minutes=3, lat=pos[0], lon=pos[1], position_at=now
        )

    s.unit = unit(a, f"{MARK}-01", A_POS)
    spare = unit(a, f"{MARK}-02", A_POS)
    s.b_unit = unit(b, "BMARK-01", B_POS)
    s.call_signs = [s.unit.call_sign, spare.call_sign]
    s.shift = dispatch_services.shift_add(
        actor=w.duty,
        person=Person.objects.get(user=officer_a),
        org=a,
        unit=s.unit,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=8),
        note=f"{MARK} 白班",
    )
    dispatch_services.shift_add(
        actor=w.duty,
        person=Person.objects.get(user=s.b_officer),
        org=b,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=8),
        note="BMARK 白班",
    )

    # --- A's incidents ---
    s.incident = _intake(w, a, A_PHONES[0], A_ADDRESS, A_SCENE, 1, narrative=f"楼上装修 {MARK}")
    s.order = dispatch_services.order_dispatch(incident_id=s.incident.pk, actor=w.duty, unit_id=s.unit.pk)
    # A second order for the same incident, returned by the station (an alert on A's board).
    returned = dispatch_services.order_dispatch(incident_id=s.incident.pk, actor=w.duty, unit_id=spare.pk)
    dispatch_services.order_return(order_id=returned.pk, actor=officer_a, reason=f"{MARK} 警力不足")
    s.repeat = _intake(
        w,
        a,
        A_PHONES[0],
        A_ADDRESS,
        A_SCENE,
        2,
        repeat_of=s.incident,
        link_type=LinkType.URGE,
        narrative=f"催促 {MARK}",
    )
    third = _intake(w, a, A_PHONES[1], A_ADDRESS, A_SCENE, 3, narrative=f"又吵 {MARK}")  # the place recurs
    s.closed = third
    to_station = dispatch_services.order_dispatch(incident_id=third.pk, actor=w.duty, org_id=a.pk)
    for step in (dispatch_services.order_sign, dispatch_services.order_arrive):
        step(order_id=to_station.pk, actor=officer_a)
    dispatch_services.order_done(order_id=to_station.pk, actor=officer_a, note=f"{MARK} 处置完毕")
    incident_services.incident_clear_scene(incident_id=third.pk, actor=officer_a)
    from command_center.models import HandlingResult

    incident_services.load_defaults()  # the handling guides
    s.guide = HandlingGuide.objects.get(category_prefix="0205", level=None, current=True)
    incident_services.incident_feedback(
        incident_id=third.pk,
        actor=officer_a,
        text=f"{MARK} 已劝导",
        result=HandlingResult.objects.get(code="05"),
        guide=s.guide,
        ticked=[1],
        unticked_reason=f"{MARK} 现场无人应门",
    )
    incident_services.incident_close(incident_id=third.pk, actor=officer_a)
    # The callback's after-commit hook opens A's rectification (a directive and a task to A): run it now.
    with TestCase.captureOnCommitCallbacks(execute=True):
        incident_services.incident_callback(
            incident_id=third.pk, actor=w.duty, channel="phone", satisfaction="dissatisfied", text=f"{MARK} 态度差"
        )
    # An auto-diversion rule (the city's) proposes 12345 for A's non-police call; the desk confirms it.
    rule = DiversionRule.objects.create(name="非警务转12345", category_prefix="09", target=w.partner)
    s.diverted = _intake(
        w, a, A_PHONES[2], f"幸福小区{MARK}", (30.2950, 120.1650), 4, category="090000", narrative=f"路灯坏了 {MARK}"
    )
    s.diversion = incident_services.incident_divert(
        incident_id=s.diverted.pk, actor=w.duty, partner=w.partner, note=f"{MARK} 转12345", rule=rule
    )
    # The partner's own system hears of its diversions (a webhook endpoint): no station reads or changes it.
    PartnerWebhook.objects.create(partner=w.partner, url=f"https://12345.example/{MARK}", secret=f"whsec_{MARK}")
    invalid = _intake(w, a, A_PHONES[3], f"无效{MARK}", A_SCENE, 5, narrative=f"误拨 {MARK}")
    incident_services.incident_invalidate(incident_id=invalid.pk, actor=w.duty, reason=f"{MARK} 误拨")
    s.cluster = RepeatCluster.objects.filter(org=a).earliest("pk")  # three calls at one place: a ledger line

    # --- B's own business (so B's lists are not empty: the walker must see B's rows and only B's) ---
    s.b_incident = _intake(w, b, B_PHONE, B_ADDRESS, B_SCENE, 1, narrative="BMARK 噪音")
    s.b_order = dispatch_services.order_dispatch(incident_id=s.b_incident.pk, actor=w.duty, unit_id=s.b_unit.pk)

    # --- The loop ---
    s.analysis = loop.analysis_create(
        actor=s.a_analyst,
        title=f"{MARK} 翠柳巷噪音研判",
        body=f"{MARK} 装修噪音反复",
        incident_ids=[s.incident.pk, s.repeat.pk],
        cluster_ids=[s.cluster.pk],
    )
    loop.analysis_publish(analysis_id=s.analysis.pk, actor=s.a_analyst)
    s.directive = loop.directive_issue(
        actor=w.analyst,
        data=loop.DirectiveData(
            title=f"{MARK} 夜间巡防",
            content=f"{MARK} 请落实夜间巡防",
            recipients=[a],
            colour="red",
            actions=["加密巡逻"],
            files=[_pdf(f"{MARK}-部署.pdf")],
        ),
    )
    s.task = Task.objects.get(carried__directive=s.directive)
    s.closed_directive = loop.directive_issue(
        actor=w.analyst,
        data=loop.DirectiveData(title=f"{MARK} 隐患排查", content=f"{MARK} 排查", recipients=[a], actions=["排查隐患"]),
    )
    done = Task.objects.get(carried__directive=s.closed_directive)
    _report(done, officer_a, f"{MARK} 已排查", [_png(f"{MARK}-排查.png")])
    loop.task_approve(task_id=done.pk, actor=w.supervisor)
    s.shared = loop.directive_issue(
        actor=w.analyst,
        data=loop.DirectiveData(
            title="联合清查行动", content="两所联合清查", recipients=[a, b], actions=["清查"], files=[_pdf("方案.pdf")]
        ),
    )
    s.shared_task = Task.objects.get(carried__directive=s.shared, org=a)
    s.b_shared_task = Task.objects.get(carried__directive=s.shared, org=b)
    report = _report(s.shared_task, officer_a, f"{MARK} 清查完毕", [_png(f"{MARK}-清查.png")])
    s.attachment = report.attachments.get()
    supervision_services.watch_add(actor=w.commander, incident=s.incident, note=f"{MARK} 盯办")
    s.watch = supervision_services.watch_add(actor=w.commander, task=s.task, note=f"{MARK} 盯办任务")[0]

    # --- Clocks break: A's order unsigned past 30 s, A's red task unsigned past 10 min; then the 督办 ---
    clocks.sweep(now=now + timedelta(minutes=11))
    clocks.sweep(now=now + timedelta(minutes=42))
    s.reminder = Reminder.objects.filter(task=s.task).earliest("pk")
    s.supervision_order = SupervisionOrder.objects.get(task=s.task)

    # A daily bulletin (通报) of A's own (a station covers itself): B reads nothing of it.
    from supervision import bulletins

    a_bulletin = bulletins.bulletin_generate(kind="daily", org=a, day=timezone.localdate())

    # A's people log in to the API too: their tokens are A's.
    a_tokens = {tokens.token_issue(user=u, name=f"{MARK} phone")[0].pk for u in (officer_a, s.a_analyst)}

    # 数字督察: a finding on A's incident (written as the inspection writes it).
    from django.contrib.contenttypes.models import ContentType

    from supervision.models import Finding

    Finding.objects.create(
        rule="closed_without_arrival",
        subject_type=ContentType.objects.get_for_model(Incident),
        subject_id=s.incident.pk,
        org=s.incident.org,
        detail=f"{MARK} closed without arrival",
        facts={"incident": s.incident.pk},
        found_at=now,
    )

    # 反馈审核: A's feedback returned for 整改 (its rework clock runs at A).
    from supervision import feedback_review

    feedback_review.feedback_return(
        feedback_id=Feedback.objects.get(incident=third).pk, actor=w.supervisor, note=f"{MARK} 处置经过不清"
    )

    # 网情: A's watch list, posts placed in A's area (two retellings: an event, and a watch hit), a warning.
    from sentiment import services as sentiment_services
    from sentiment.models import Event as SentimentEvent
    from sentiment.models import Post as SentimentPost
    from sentiment.models import Warning as SentimentWarning
    from sentiment.models import WatchHit, WatchList

    sentiment_services.load_defaults()
    sentiment_services.watch_create(actor=s.a_analyst, org_id=a.pk, name=f"{MARK} 布控", expression="打架 警察")
    told = f"东湖派出所门口 {MARK} 有人打架，警察已经到场处置，大家绕行"
    sentiment_services.ingest(
        [
            {"source": "weibo", "external_id": f"{MARK}-1", "text": told, "published_at": now.isoformat()},
            {"source": "weibo", "external_id": f"{MARK}-2", "text": "转发：" + told, "published_at": now.isoformat()},
        ]
    )
    a_posts = SentimentPost.objects.filter(org=a)
    assert a_posts.count() == 2 and a_posts.filter(event__isnull=False).count() == 2
    a_warning = SentimentWarning.objects.create(
        kind="spike", org=a, category="020100", colour="red", hour=now.replace(minute=0, second=0, microsecond=0),
        count=2, baseline_mean=0, baseline_sd=0, reason=f"{MARK} 打架 spike", created_at=now,
    )  # fmt: skip
    a_warning.posts.set(a_posts)

    # 社情: A's volunteer (the world's, in A's community) and two reports with the marker, one with a photo
    # and made an incident, one still awaiting triage (its clock runs at A).
    from community import services as community_services
    from community.models import ReportPhoto, Volunteer, VolunteerReport

    community_services.load_defaults()
    Volunteer.objects.create(
        person=w.volunteer.person, station=a, community=w.community_a1, grid=f"{MARK}网格", phone=A_PHONES[3]
    )
    reported = community_services.report_submit(
        actor=w.volunteer,
        data=community_services.ReportData(
            kind="hazard", category="fire_hazard", text=f"{MARK} 楼道充电", photos=[_png("hazard.png")]
        ),
    )
    community_services.report_make_incident(report_id=reported.pk, actor=officer_a)
    community_services.report_submit(
        actor=w.volunteer,
        data=community_services.ReportData(kind="clue", category="crime_clue", text=f"{MARK} 可疑车辆"),
    )

    # The morning report of A's county (B, a station beside A, sees none of it: it is above B) carrying A's
    # warning and incidents; A's duty log with a note and handover text of A's.
    from briefing import services as briefing_services

    a_report = briefing_services.report_draft(org=w.county_a, day=timezone.localdate())
    assert MARK in a_report.body  # the warning's reason, in the 网情 section and the suggestions
    a_log = briefing_services.duty_log_for(org=a, day=timezone.localdate())
    briefing_services.duty_note_add(log_id=a_log.pk, actor=officer_a, text=f"{MARK} 夜间走访")
    briefing_services.duty_handover_save(log_id=a_log.pk, actor=officer_a, text=f"{MARK} 交接")
    # 热点: A's incidents at one place today make A's cell a hotspot; A's analyst keeps it and opens a 研判.
    a_cell = hotspots.cell_of(*A_SCENE)
    today = hotspots.Ask(scope=a, window=hotspots.window("day", timezone.localdate()), area="cell", category="")
    hotspots.hotspot_analyse(actor=s.a_analyst, ask_=today, key=a_cell)

    a_incidents = set(Incident.objects.filter(org=a).values_list("pk", flat=True))
    s.numbers = list(Incident.objects.filter(org=a).values_list("number", flat=True))
    a_tasks = set(Task.objects.filter(org=a).values_list("pk", flat=True))
    s.ids = {
        "incident": a_incidents,
        "order": set(DispatchOrder.objects.filter(org=a).values_list("pk", flat=True)),
        "unit": set(Unit.objects.filter(org=a).values_list("pk", flat=True)),
        "shift": set(Shift.objects.filter(org=a).values_list("pk", flat=True)),
        "diversion": set(Diversion.objects.filter(incident__org=a).values_list("pk", flat=True)),
        "feedback": set(Feedback.objects.filter(incident__org=a).values_list("pk", flat=True)),
        "cluster": set(RepeatCluster.objects.filter(org=a).values_list("pk", flat=True)),
        "analysis": set(Analysis.objects.filter(org=a).values_list("pk", flat=True)),
        # Directives B may not see: those addressed to A alone (the shared one is B's too).
        "directive": set(Directive.objects.exclude(recipients=b).values_list("pk", flat=True)),
        "task": a_tasks,
        "attachment": set(
            Attachment.objects.exclude(directive__recipients=b)
            .exclude(report__task__org=b)
            .values_list("pk", flat=True)
        ),
        "reminder": set(Reminder.objects.filter(task__in=a_tasks).values_list("pk", flat=True)),
        "supervision_order": set(SupervisionOrder.objects.filter(task__in=a_tasks).values_list("pk", flat=True)),
        "watch": set(Watch.objects.values_list("pk", flat=True)),  # all are the city commander's
        "deadline": set(Deadline.objects.filter(org__path__startswith=a.path).values_list("pk", flat=True)),
        "finding": set(Finding.objects.filter(org__path__startswith=a.path).values_list("pk", flat=True)),
        "token": a_tokens,
        "webhook": set(PartnerWebhook.objects.values_list("pk", flat=True)),  # all are the partner's
        "bulletin": {a_bulletin.pk},
        "daily_report": {a_report.pk},
        "duty_log": {a_log.pk},
        "sentiment_post": set(a_posts.values_list("pk", flat=True)),
        "sentiment_event": set(SentimentEvent.objects.filter(org=a).values_list("pk", flat=True)),
        "sentiment_warning": {a_warning.pk},
        "watchlist": set(WatchList.objects.filter(org=a).values_list("pk", flat=True)),
        "hit": set(WatchHit.objects.filter(org=a).values_list("pk", flat=True)),
        "community_report": set(VolunteerReport.objects.filter(org=a).values_list("pk", flat=True)),
        "community_photo": set(ReportPhoto.objects.filter(report__org=a).values_list("pk", flat=True)),
        "volunteer": set(Volunteer.objects.filter(station=a).values_list("pk", flat=True)),
        "hotspot": set(Hotspot.objects.filter(scope__path__startswith=a.path).values_list("pk", flat=True)),
    }
    assert s.ids["hotspot"]
    assert ClosureReport.objects.filter(directive=s.closed_directive).exists()
    assert Directive.objects.filter(incident=third, source=Directive.Source.RECTIFICATION).exists()
    return s


def _report(task: Task, officer: User, text: str, files: list[SimpleUploadedFile]) -> Any:
    loop.task_sign(task_id=task.pk, actor=officer)
    loop.task_start(task_id=task.pk, actor=officer)
    task.refresh_from_db()
    checklist = [{"action": x, "done": True, "note": ""} for x in task.actions]
    loop.task_report(task_id=task.pk, actor=officer, text=text, checklist=checklist, files=files)
    return Task.objects.get(pk=task.pk).reports.order_by("-pk").first()


def as_text(body: Any) -> str:
    """A JSON body as one string with every character as it is (no \\u escapes)."""
    return json.dumps(body, ensure_ascii=False, default=str)
