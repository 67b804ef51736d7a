"""What surrounds the loop: admin pages, demo data, role permissions, the API schema, anonymous callers."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from command_center import clocks
from intel.models import (
    Analysis,
    AnalysisTransition,
    Attachment,
    ClosureReport,
    Directive,
    DirectiveTransition,
    Task,
    TaskDirective,
    TaskReport,
    TaskTransition,
)
from supervision.models import Reminder, SupervisionOrder, Watch

from .conftest import answers, api_as, issue, png, task_of, walk_to_reported


@pytest.fixture
def admin_client_(coded, client):
    admin = User.objects.create_superuser("root", password="pw-12345")
    client.force_login(admin)
    return client


def test_every_loop_model_has_an_admin(coded, admin_client_):
    from intel import services

    analysis = services.analysis_create(actor=coded.analyst, title="研判")
    d = issue(coded, coded.station_a1, colour="red", files=[png()])
    t = walk_to_reported(coded, task_of(d, coded.station_a1))
    services.task_approve(task_id=t.pk, actor=coded.supervisor)
    other = issue(coded, coded.station_b1, colour="red")
    clocks.sweep(now=other.issued_at + timedelta(minutes=11))  # a reminder
    clocks.sweep(now=other.issued_at + timedelta(minutes=45))  # a 督办
    api_as(coded.commander).post("/api/watch/", {"task": task_of(other, coded.station_b1).pk}, format="json")
    for model in (
        Analysis,
        AnalysisTransition,
        Directive,
        DirectiveTransition,
        Task,
        TaskDirective,
        TaskTransition,
        TaskReport,
        Attachment,
        ClosureReport,
        Reminder,
        SupervisionOrder,
        Watch,
    ):
        obj = model.objects.first()
        assert obj is not None, model
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert admin_client_.get(base).status_code == 200, base
        assert admin_client_.get(f"{base}{obj.pk}/change/").status_code == 200, base
        assert admin_client_.get(f"{base}add/").status_code == 403, base
    assert analysis.pk


def test_roles_hold_the_loop_view_permissions(coded):
    assert coded.station_a1_officer.has_perm("intel.view_task")
    assert coded.analyst.has_perm("intel.view_directive")
    assert coded.supervisor.has_perm("supervision.view_reminder")
    assert not coded.partner_agent.has_perm("intel.view_task")
    assert not coded.volunteer.has_perm("supervision.view_watch")


def test_demo_directives_are_idempotent(db):
    call_command("load_demo")
    assert Analysis.objects.filter(state="published").count() == 1
    assert Directive.objects.count() == 2
    assert Task.objects.count() == 3
    assert Task.objects.filter(state="signed", org__name="东湖派出所").count() == 1
    assert {t.colour for t in Task.objects.all()} == {"red", "yellow"}
    before = (Directive.objects.count(), Task.objects.count())
    call_command("load_demo")
    assert (Directive.objects.count(), Task.objects.count()) == before


def test_schema_documents_the_loop_api(coded):
    schema = api_as(coded.duty).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in [
        "/api/analyses/",
        "/api/analyses/{id}/",
        "/api/analyses/{id}/publish/",
        "/api/directives/",
        "/api/directives/{id}/",
        "/api/directives/{id}/withdraw/",
        "/api/directives/{id}/report/",
        "/api/tasks/",
        "/api/tasks/{id}/",
        "/api/tasks/{id}/sign/",
        "/api/tasks/{id}/start/",
        "/api/tasks/{id}/report/",
        "/api/tasks/{id}/approve/",
        "/api/tasks/{id}/return/",
        "/api/attachments/{id}/",
        "/api/clusters/{id}/govern/",
        "/api/reminders/",
        "/api/reminders/{id}/acknowledge/",
        "/api/supervision-orders/",
        "/api/watch/",
        "/api/watch/{id}/",
        "/api/review/",
        "/api/overdue/",
    ]:
        assert path in schema["paths"], path


@pytest.mark.parametrize(
    "url",
    [
        "/api/analyses/",
        "/api/directives/",
        "/api/tasks/",
        "/api/attachments/1/",
        "/api/reminders/",
        "/api/supervision-orders/",
        "/api/watch/",
        "/api/review/",
        "/api/overdue/",
    ],
)
def test_anonymous_callers_are_refused(db, client, url):
    assert client.get(url).status_code in (401, 403)
    assert client.post(url, {}).status_code in (401, 403, 405)


def test_the_schema_generates_without_warnings(db, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_a_report_answer_survives_the_round_trip(coded):
    d = issue(coded, coded.station_a1)
    t = task_of(d, coded.station_a1)
    assert answers(t)[0] == {"action": "加密巡逻", "done": True, "note": ""}
