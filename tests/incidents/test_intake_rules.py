"""The intake form's rules (issue 12, "Forms and words"): a caller's number is a Chinese mobile, a landline
with its area code or a service number — or said outright to be none (无号码 / 号码不详); text longer than
the model's column is refused, not cut; each field carries the label the form shows."""

import pytest
from django.utils import translation

from incidents.api import IntakeSerializer
from incidents.models import Incident
from incidents.phones import phone_kind

from .conftest import call

VALID = {
    "13800138000": "mobile",
    "139 0000 1111": "mobile",
    "139-0000-1111": "mobile",
    "+86 13900001111": "mobile",
    "008613900001111": "mobile",
    "0571-87654321": "landline",
    "057187654321": "landline",
    "010-1234567": "landline",
    "0755 8765 4321": "landline",
    "110": "service",
    "119": "service",
    "120": "service",
    "122": "service",
    "12345": "service",
    "10086": "service",
    "95555": "service",
    "无号码": "marker",
    "号码不详": "marker",
    "": "blank",
}

INVALID = [
    "12345678",  # eight digits: neither a mobile nor a landline without its area code
    "1234",
    "12800138000",  # 12x is no mobile prefix
    "1380013800",  # ten digits
    "138001380001",  # twelve
    "0571-12345",  # a landline's number has 7–8 digits
    "21234567",
    "1111111",
    "abc",
    "匿名",  # said outright, a missing number is 无号码 or 号码不详
    "+1 2025550123",
    "138-0013-800x",
]


@pytest.mark.parametrize("number,kind", VALID.items())
def test_valid_numbers_are_taken(duty_api, number, kind):
    assert phone_kind(number) == kind
    r = duty_api.post("/api/incidents/", call(caller_phone=number), format="json")
    assert r.status_code == 201, r.json()
    assert Incident.objects.get(pk=r.json()["id"]).caller_phone == number.strip()


@pytest.mark.parametrize("number", INVALID)
def test_anything_else_is_refused_naming_the_field(duty_api, number):
    assert phone_kind(number) is None
    with translation.override("zh-hans"):
        r = duty_api.post("/api/incidents/", call(caller_phone=number), format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 400
    assert list(r.json()) == ["caller_phone"]
    assert "无号码" in r.json()["caller_phone"][0]
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    "field,limit",
    [("address", 200), ("caller_name", 60), ("caller_phone", 32), ("call_id", 64), ("narrative", 20000)],
)
def test_over_long_text_is_refused_not_cut(duty_api, field, limit):
    just = "1" * limit if field == "caller_phone" else "甲" * limit
    over = just + "乙"
    r = duty_api.post("/api/incidents/", call(**{field: over}), format="json")
    assert r.status_code == 400 and field in r.json(), r.json()
    assert not Incident.objects.exists()
    if field != "caller_phone":  # a 32-digit number is no number: refused for that, not for its length
        r = duty_api.post("/api/incidents/", call(**{field: just}), format="json")
        assert r.status_code == 201, r.json()
        assert getattr(Incident.objects.get(pk=r.json()["id"]), field) == just


def test_the_serializer_limits_follow_the_model():
    fields = IntakeSerializer().fields
    for name in ("call_id", "caller_phone", "caller_name", "address"):
        column = Incident._meta.get_field(name)
        assert getattr(fields[name], "max_length", None) == getattr(column, "max_length", -1), name


def test_fields_carry_the_forms_labels():
    with translation.override("zh-hans"):
        fields = IntakeSerializer().fields
        labels = {k: str(fields[k].label) for k in ("caller_phone", "address", "lat", "lon", "category", "narrative")}
    assert labels == {
        "caller_phone": "来电号码",
        "address": "事发地址",
        "lat": "纬度",
        "lon": "经度",
        "category": "警情类别",
        "narrative": "简要警情",
    }


def test_the_intake_page_carries_its_rules_and_the_dispatch_endpoints(coded, client):
    client.force_login(coded.duty)
    html = client.get("/incidents/intake/").content.decode()
    assert 'id="intake-labels"' in html and "js/desk.js" in html
    # Dispatch (above incidents) adds its endpoints through the kernel's screen registry.
    assert "/api/incidents/0/recommendations/" in html and "/api/incidents/0/dispatch/" in html
    assert '<option value="无号码">' in html and '<option value="号码不详">' in html
    # No maxlength: a browser cuts a paste at maxlength without a word; the page and the API refuse instead.
    assert 'name="address" required>' in html and "maxlength" not in html
