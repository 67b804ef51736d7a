"""Loop fixtures on the shared world: code tables loaded (the 督办 levels among them), uploads under a
temporary MEDIA_ROOT, and helpers that issue a directive and walk a task along."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from command_center import codes
from command_center.models import Org
from incidents.models import Incident
from intel import services
from intel.models import Directive, Task

_seq = itertools.count(1)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"0" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def coded(world):
    codes.load_defaults()
    return world


def api_as(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def issue(world, *recipients: Org, actor=None, **over: Any) -> Directive:
    data: dict[str, Any] = {
        "title": f"指令 {next(_seq)}",
        "content": "请落实夜间巡防",
        "recipients": list(recipients) or [world.station_a1],
        "colour": "yellow",
        "actions": ["加密巡逻", "排查隐患"],
    }
    data.update(over)
    return services.directive_issue(actor=actor or world.analyst, data=services.DirectiveData(**data))


def task_of(d: Directive, org: Org) -> Task:
    return Task.objects.get(carried__directive=d, org=org)


def answers(task: Task, done: bool = True) -> list[dict[str, Any]]:
    return [{"action": a, "done": done, "note": ""} for a in task.actions]


def walk_to_reported(world, task: Task, officer=None) -> Task:
    officer = officer or world.station_a1_officer
    services.task_sign(task_id=task.pk, actor=officer)
    services.task_start(task_id=task.pk, actor=officer)
    task.refresh_from_db()
    services.task_report(task_id=task.pk, actor=officer, text="已落实", checklist=answers(task))
    return Task.objects.get(pk=task.pk)


def png(name: str = "现场.png", size: int | None = None) -> SimpleUploadedFile:
    body = PNG if size is None else PNG + b"\x00" * (size - len(PNG))
    return SimpleUploadedFile(name, body, content_type="image/png")


def closed_incident(world) -> Incident:
    duty = api_as(world.duty)
    body = {
        "call_id": "R0001",
        "source": "110",
        "caller_phone": "13800138000",
        "address": "东湖路12号",
        "category": "020500",
        "org": world.station_a1.pk,
    }
    r = duty.post("/api/incidents/", body, format="json")
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    duty.post(f"/api/incidents/{pk}/self-handle/", {}, format="json")
    duty.post(f"/api/incidents/{pk}/feedback/", {"text": "已劝导", "result": "05"}, format="json")
    assert duty.post(f"/api/incidents/{pk}/close/", {}, format="json").json()["state"] == "closed"
    return Incident.objects.get(pk=pk)


def callback(world, incident, satisfaction):
    return api_as(world.duty).post(
        f"/api/incidents/{incident.pk}/callback/",
        {"channel": "phone", "satisfaction": satisfaction, "text": "民警一直没来"},
        format="json",
    )
