"""English covers the code tables, the clocks' labels and the 督办 levels: each read in the reader's
language, per request (a push carries both names, or the clock's kind, and the page picks)."""

import json
import re

import pytest
from django.conf import settings
from django.utils import translation
from rest_framework.test import APIClient

from command_center import clocks, codes
from command_center.models import Category, HandlingResult, SupervisionLevel
from incidents import services


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def an_incident(world):
    codes.load_defaults()
    incident, _ = services.incident_intake(
        actor=world.duty,
        data=services.IntakeData(
            call_id="EN-1", source="110", address="东湖路12号", category=codes.active_categories()["010100"]
        ),
    )
    return incident


def test_every_shipped_row_has_an_english_name(db):
    codes.load_defaults()
    assert Category.objects.count() > 100
    assert list(Category.objects.filter(name_en="").values_list("code", flat=True)) == []
    assert list(HandlingResult.objects.filter(name_en="").values_list("code", flat=True)) == []
    assert list(SupervisionLevel.objects.filter(name_en="").values_list("code", flat=True)) == []


def test_a_row_reads_in_the_active_language_and_falls_back_to_chinese(db):
    codes.load_defaults()
    theft = Category.objects.get(code="010100")
    level = SupervisionLevel.objects.get(rank=3)
    with translation.override("en"):
        assert (theft.local_name, level.local_name) == ("Theft", "Listed supervision")
        theft.name_en = ""
        assert theft.local_name == "盗窃"  # a province's table without English names still reads
    with translation.override("zh-hans"):
        assert (Category.objects.get(code="010100").local_name, level.local_name) == ("盗窃", "挂牌督办")


@pytest.mark.parametrize(
    ("kind", "en", "zh"),
    [("dispatch.sign", "Sign the dispatch order", "签收派警单"), ("incidents.feedback", "Feedback due", None)],
)
def test_clock_labels_follow_the_active_language(db, kind, en, zh):
    kinds = clocks.registered()
    with translation.override("en"):
        assert str(kinds[kind].label) == en
    with translation.override("zh-hans"):
        assert str(kinds[kind].label) != en and (zh is None or str(kinds[kind].label) == zh)


def test_the_api_names_the_category_in_the_readers_language(world):
    incident = an_incident(world)
    api = APIClient()
    api.force_authenticate(world.duty)
    assert api.get(f"/api/incidents/{incident.pk}/").json()["category_name"] == "盗窃"
    english(api)
    assert api.get(f"/api/incidents/{incident.pk}/").json()["category_name"] == "Theft"


def test_pages_name_categories_results_and_clocks_in_english(client, world):
    incident = an_incident(world)
    client.force_login(world.duty)
    english(client)
    html = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "010100 Theft" in html
    assert "Theft" in client.get("/incidents/").content.decode()
    client.force_login(world.station_a1_officer)
    assert "01 Mediated on scene" in client.get("/dispatch/inbox/").content.decode()  # the feedback's results
    labels = re.search(r'<script id="cc-clock-labels" type="application/json">(.*?)</script>', html)
    assert labels and json.loads(labels.group(1))["dispatch.sign"] == "Sign the dispatch order"
