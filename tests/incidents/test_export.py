import csv
import io

from openpyxl import load_workbook

from .conftest import api_as, call


def test_csv_export_is_filtered_scoped_and_says_its_limit(duty_api, coded, settings):
    duty_api.post("/api/incidents/", call(), format="json")
    duty_api.post("/api/incidents/", call(category="030100", lat=30.25, lon=120.10), format="json")
    r = duty_api.get("/api/incidents/export/", {"file": "csv", "category": "02"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "number" and len(rows) == 2 and rows[1][2] == "020500"
    assert r["X-Export-Limit"] == str(settings.EXPORT_MAX_ROWS) and r["X-Export-Truncated"] == "false"
    # Station B sees none of station A's incidents in an export either.
    other = api_as(coded.station_b1_officer).get("/api/incidents/export/", {"file": "csv"})
    assert [r[2] for r in csv.reader(io.StringIO(other.content.decode("utf-8-sig")))][1:] == ["030100"]


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
    assert "138****5678" in r.content.decode("utf-8-sig") and "13812345678" not in r.content.decode("utf-8-sig")


def test_export_refuses_unknown_formats(duty_api):
    assert duty_api.get("/api/incidents/export/", {"file": "pdf"}).status_code == 400
