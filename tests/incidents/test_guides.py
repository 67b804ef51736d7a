"""Handling guides (处置指引): versions, the match, the defaults, and a feedback's ticks (refused with the
unticked required items named unless a reason is given), shown on the incident's timeline and feedback."""

import pytest
from django.core.exceptions import PermissionDenied

from command_center import codes
from incidents import hooks, services
from incidents.models import Feedback, HandlingGuide, Incident

from .conftest import api_as, call


@pytest.fixture
def guides(coded):
    services.load_defaults()
    return coded


def dispatched(world, client, **over):
    i = Incident.objects.get(pk=client.post("/api/incidents/", call(**over), format="json").json()["id"])
    hooks.incident_mark_dispatched(incident_id=i.pk, actor=world.duty)
    hooks.incident_mark_responding(incident_id=i.pk, actor=world.station_a1_officer)
    hooks.incident_mark_on_scene(incident_id=i.pk, actor=world.station_a1_officer)
    return i


def test_load_codes_brings_guides_for_common_categories_once(coded):
    assert services.load_defaults() == {"handling guides": (len(services.DEFAULT_GUIDES), 0)}
    assert services.load_defaults() == {"handling guides": (0, 0)}  # idempotent: an admin's edits are kept
    prefixes = set(HandlingGuide.objects.values_list("category_prefix", flat=True))
    assert {"0101", "06", "0301", "04", "05"} <= prefixes
    # Every default names a category of the shipped table.
    table = set(codes.active_categories())
    assert all(any(code.startswith(p) for code in table) for p in prefixes)


def test_the_match_api_longest_prefix_then_level(guides, duty_api):
    r = duty_api.get("/api/guides/match/", {"category": "060110", "level": 3})
    assert r.status_code == 200 and r.json()["guide"]["title"] == "家庭纠纷处置指引"
    assert duty_api.get("/api/guides/match/", {"category": "060410", "level": 3}).json()["guide"]["title"] == (
        "纠纷警情处置指引"
    )
    first = duty_api.get("/api/guides/match/", {"category": "030110", "level": 1}).json()["guide"]
    assert first["title"] == "重大交通事故处置指引" and first["items"][0] == {
        "n": 1,
        "text": "设置警示区，封控现场",
        "required": True,
    }
    assert duty_api.get("/api/guides/match/", {"category": "030110", "level": 3}).json()["guide"]["title"] == (
        "交通事故处置指引"
    )
    assert duty_api.get("/api/guides/match/", {"category": "100200", "level": 3}).json() == {"guide": None}
    bad = duty_api.get("/api/guides/match/", {"category": "999999", "level": 7})
    assert bad.status_code == 400 and set(bad.json()) == {"category", "level"}


def test_a_revision_is_a_new_version_and_the_old_stays_as_it_was(guides):
    old = HandlingGuide.objects.get(category_prefix="04", level=None)
    new = services.guide_revise(
        guide_id=old.pk,
        actor=None,  # a command (load_codes) acts as nobody
        category_prefix="04",
        level=None,
        title="火灾处置指引（修订）",
        items=[("确认119已出动", True), ("疏散群众", True), ("  ", False)],
    )
    old.refresh_from_db()
    assert (old.current, new.current, new.version, new.family) == (False, True, 2, old.family)
    assert old.title == "火灾警情处置指引" and len(old.items) == 4  # untouched
    assert new.items == [
        {"n": 1, "text": "确认119已出动", "required": True},
        {"n": 2, "text": "疏散群众", "required": True},
    ]
    api = api_as(guides.duty)
    assert api.get("/api/guides/match/", {"category": "040110", "level": "2"}).json()["guide"]["id"] == new.pk
    assert api.get(f"/api/guides/{old.pk}/").json()["current"] is False  # still readable by id
    with pytest.raises(services.Refused):
        services.guide_revise(
            guide_id=old.pk, actor=None, category_prefix="04", level=None, title="x", items=[("a", False)]
        )
    with pytest.raises(PermissionDenied):  # a duty officer is not an administrator
        services.guide_revise(guide_id=new.pk, actor=guides.duty, category_prefix="04", level=None, title="x", items=[])


def test_feedback_with_ticks_refused_naming_the_unticked_required_unless_a_reason(guides, duty_api):
    i = dispatched(guides, duty_api, category="060110")
    guide = HandlingGuide.objects.get(category_prefix="0601", current=True)
    station = api_as(guides.station_a1_officer)
    url = f"/api/incidents/{i.pk}/feedback/"
    body = {"text": "到场调解", "result": "01", "guide": guide.pk}
    r = station.post(url, {**body, "ticked": [1, 3]}, format="json")
    assert r.status_code == 400
    assert "2. 了解有无家庭暴力，需要时出具告诫书" in r.json()["ticked"][0]
    assert "1." not in r.json()["ticked"][0]
    assert not Feedback.objects.filter(incident=i).exists()
    assert station.post(url, {**body, "ticked": [1, 9]}, format="json").json()["ticked"] == ["指引中没有该项：9。"]
    other = HandlingGuide.objects.get(category_prefix="04", current=True)
    assert "guide" in station.post(url, {**body, "guide": other.pk, "ticked": [1]}, format="json").json()

    r = station.post(url, {**body, "ticked": [1, 3], "unticked_reason": "双方系邻居，无家庭关系"}, format="json")
    assert r.status_code == 201
    checklist = r.json()["checklist"]
    assert (checklist["guide"], checklist["version"], checklist["ticked"], checklist["total"]) == (guide.pk, 1, 2, 4)
    assert checklist["missing_required"] == [2] and checklist["unticked_reason"] == "双方系邻居，无家庭关系"

    # All required ticked: no reason needed. The guide revised meanwhile: the version ticked still counts.
    services.guide_revise(
        guide_id=guide.pk, actor=None, category_prefix="0601", level=None, title="新版", items=[("新的一项", True)]
    )
    r = station.post(url, {**body, "ticked": [1, 2]}, format="json")
    assert r.status_code == 201 and r.json()["checklist"]["missing_required"] == []
    assert r.json()["checklist"]["title"] == "家庭纠纷处置指引"

    # The incident's page data: each feedback with its checklist; the timeline too.
    detail = duty_api.get(f"/api/incidents/{i.pk}/").json()
    assert [f["checklist"]["ticked"] for f in detail["feedback"]] == [2, 2]
    rows = [t for t in detail["timeline"] if t["type"] == "feedback"]
    assert rows[0]["checklist"]["unticked_reason"] == "双方系邻居，无家庭关系"


def test_feedback_without_a_guide_stays_as_before(guides, duty_api):
    i = dispatched(guides, duty_api, category="060110")
    station = api_as(guides.station_a1_officer)
    r = station.post(f"/api/incidents/{i.pk}/feedback/", {"text": "到场", "result": "01"}, format="json")
    assert r.status_code == 201 and r.json()["checklist"] is None
    r = station.post(f"/api/incidents/{i.pk}/feedback/", {"text": "到场", "result": "01", "ticked": [1]}, format="json")
    assert r.status_code == 400 and "guide" in r.json()


def test_the_admin_edits_a_guide_as_a_new_version(guides, client):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("root", password="pw-12345"))
    old = HandlingGuide.objects.get(category_prefix="05", level=None, current=True)
    page = client.get(f"/admin/incidents/handlingguide/{old.pk}/change/")
    assert page.status_code == 200 and "!核实求助人身份与所需帮助" in page.content.decode()
    r = client.post(
        f"/admin/incidents/handlingguide/{old.pk}/change/",
        {"category_prefix": "05", "level": "", "title": "群众求助处置指引", "items_text": "!核实身份\n联系家属\n"},
    )
    assert r.status_code == 302
    new = HandlingGuide.objects.get(family=old.family, current=True)
    assert new.version == 2 and new.items[1] == {"n": 2, "text": "联系家属", "required": False}
    assert HandlingGuide.objects.get(pk=old.pk).items == old.items
    # The old version reads, but no longer edits.
    page = client.get(f"/admin/incidents/handlingguide/{old.pk}/change/")
    assert page.status_code == 200 and "!核实求助人身份与所需帮助" in page.content.decode()
    r = client.post(f"/admin/incidents/handlingguide/{old.pk}/change/", {"title": "x", "items_text": "y"})
    assert r.status_code == 403 and HandlingGuide.objects.get(pk=old.pk).title == old.title
    # A new guide for a (prefix, level) that has one is refused on the form.
    r = client.post(
        "/admin/incidents/handlingguide/add/",
        {"category_prefix": "05", "level": "", "title": "重复", "items_text": "a"},
    )
    assert r.status_code == 200 and HandlingGuide.objects.filter(title="重复").count() == 0


def test_the_incident_pages_feedback_form_ticks_the_guide(guides, duty_api, client):
    i = dispatched(guides, duty_api, category="060110")
    client.force_login(guides.station_a1_officer)
    page = client.get(f"/incidents/{i.pk}/").content.decode()
    guide = HandlingGuide.objects.get(category_prefix="0601", current=True)
    assert f'name="guide" value="{guide.pk}"' in page and page.count('name="ticked"') == 4
    assert "了解有无家庭暴力" in page
