"""Timelines say who acted and what happened in words ("东湖派出所 张三 签收"), not codes and usernames."""

import re

from rest_framework.test import APIClient

from command_center import codes
from command_center.models import Person
from dispatch import services as dispatch_services
from dispatch import transitions as orders
from incidents import services
from incidents import transitions as incident_table
from intel import transitions as loop


def named(world):
    Person.objects.filter(user=world.duty).update(display_name="李四")
    Person.objects.filter(user=world.station_a1_officer).update(display_name="张三")


def a_signed_order(world):
    codes.load_defaults()
    incident, _ = services.incident_intake(
        actor=world.duty,
        data=services.IntakeData(
            call_id="TL-1", source="110", address="东湖路12号", category=codes.active_categories()["020500"]
        ),
    )
    order = dispatch_services.order_dispatch(incident_id=incident.pk, actor=world.duty, org_id=world.station_a1.pk)
    dispatch_services.order_sign(order_id=order.pk, actor=world.station_a1_officer)
    return incident


def text_of(html: str) -> str:
    section = html.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))


def test_every_event_of_every_table_has_a_label():
    for table, labels in (
        (incident_table.INCIDENT, incident_table.EVENT_LABELS),
        (incident_table.DIVERSION, incident_table.DIVERSION_EVENT_LABELS),
        (orders.ORDER, orders.ORDER_EVENT_LABELS),
        (loop.TASK, loop.TASK_EVENT_LABELS),
    ):
        events = {e for moves in table.values() for e in moves}
        assert events <= set(labels), events - set(labels)


def test_the_incident_page_says_who_did_what_in_words(client, world):
    named(world)
    incident = a_signed_order(world)
    client.force_login(world.duty)
    text = text_of(client.get(f"/incidents/{incident.pk}/").content.decode())
    assert "示范市公安局情指中心 李四 接警登记" in text
    assert "示范市公安局情指中心 李四 下达派警单 派给东湖派出所" in text
    assert "东湖派出所 张三 签收" in text
    assert "station1" not in text and "respond" not in text and " sign " not in text


def test_the_api_timeline_carries_the_words_in_the_readers_language(world):
    named(world)
    incident = a_signed_order(world)
    api = APIClient()
    api.force_authenticate(world.duty)
    steps = api.get(f"/api/incidents/{incident.pk}/").json()["timeline"]
    signed = [s for s in steps if s["type"] == "order" and s["event"] == "sign"]
    assert signed and (signed[0]["actor_org"], signed[0]["actor"], signed[0]["event_label"]) == (
        "东湖派出所",
        "张三",
        "签收",
    )
    api.cookies["django_language"] = "en"
    steps = api.get(f"/api/incidents/{incident.pk}/").json()["timeline"]
    assert [s["event_label"] for s in steps if s["type"] == "order"] == ["sent the order", "signed"]
