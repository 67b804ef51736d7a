"""The export helper (command_center/exports.py): text that looks like a formula is written as text — a
string cell in XLSX, a quoted cell with a leading `'` in CSV (OWASP) — numbers stay numbers, times are
Asia/Shanghai with the offset; and no other module writes a spreadsheet itself."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import translation
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from command_center import exports

HYPERLINK = '=HYPERLINK("http://x/?p="&H2,"详情")'
FORMULAS = [HYPERLINK, "=1+1", "@SUM(1+1)", "+1", "-1+2", "\t=1", "\r=1"]
NOON_UTC = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def shanghai(settings):
    """The test's own zone and language, whatever the environment says."""
    settings.TIME_ZONE = "Asia/Shanghai"
    with translation.override("zh-hans"):
        yield


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())  # the BOM: Excel reads the file as UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def read_xlsx(content: bytes, sheet: int = 0) -> list[list]:
    ws = load_workbook(io.BytesIO(content)).worksheets[sheet]
    return [list(row) for row in ws.iter_rows()]


def test_local_time_is_shanghai_with_the_offset():
    assert exports.local_time(NOON_UTC) == "2026-12-06 20:00:00 +08:00"
    assert exports.local_time(datetime(2026, 12, 6, 20, 15, 3)) == "2026-12-06 20:15:03 +08:00"  # naive: local
    assert exports.local_time(None) == ""


def test_csv_cells_that_start_like_a_formula_get_a_quote_prefix():
    for text in FORMULAS:
        assert exports.csv_safe(text) == "'" + text
    assert exports.csv_safe("\0x") == "'\0x"
    # Text that does not start like one is left alone; numbers we write ourselves are never prefixed.
    assert [exports.csv_safe(v) for v in ["东湖路12号", "a=1", " =1", -3, 2.5, Decimal("-1.5"), None]] == [
        "东湖路12号", "a=1", " =1", "-3", "2.5", "-1.5", ""
    ]  # fmt: skip
    assert exports.csv_safe(NOON_UTC) == "2026-12-06 20:00:00 +08:00"
    assert exports.csv_safe(gettext_lazy("State")) == "状态"


def test_csv_quotes_every_cell_and_parses_back_to_the_prefixed_text():
    sheet = exports.Sheet("x")
    sheet.row("地址", "等级", style="header")
    for text in FORMULAS:
        sheet.row(text, -3)
    content = exports.csv_bytes(sheet)
    lines = content.decode("utf-8-sig").split("\r\n")
    assert lines[1] == '"\'=HYPERLINK(""http://x/?p=""&H2,""详情"")","-3"'  # quoted, quotes doubled
    assert read_csv(content) == [["地址", "等级"], *[["'" + t, "-3"] for t in FORMULAS]]


def test_xlsx_writes_text_as_string_cells_and_numbers_as_numbers():
    sheet = exports.Sheet("x")
    for text in FORMULAS:
        sheet.row(text, 3, -3, 2.5)
    sheet.row(NOON_UTC, None, gettext_lazy("State"))
    rows = read_xlsx(exports.xlsx_bytes(sheet))
    for text, row in zip(FORMULAS, rows, strict=False):
        # The text is still text, in a string cell. (openpyxl with lxml — python-docx needs it — keeps a CR
        # as a character reference; its plain-XML writer let it be read back as a line feed.)
        assert row[0].value in (text, text.replace("\r", "\n")) and row[0].data_type == "s"
        assert row[0].quotePrefix  # Excel keeps it text even when the cell is edited
        assert [(c.value, c.data_type) for c in row[1:]] == [(3, "n"), (-3, "n"), (2.5, "n")]
    last = rows[-1]
    assert (last[0].value, last[0].data_type) == ("2026-12-06 20:00:00 +08:00", "s")
    assert last[1].value is None and last[2].value == "状态"


def test_xlsx_takes_text_no_workbook_could_hold():
    """Control characters (allowed in an address) would make openpyxl refuse the whole file: replaced.
    Longer than Excel's cell limit: cut, and said so."""
    sheet = exports.Sheet("a/b:c")
    sheet.row("东湖\x01路\x1b12号", "x" * 40000)
    rows = read_xlsx(exports.xlsx_bytes(sheet))
    assert rows[0][0].value == "东湖\ufffd路\ufffd12号"
    assert len(rows[0][1].value) == exports.XLSX_MAX_CHARS and rows[0][1].value.endswith(exports.CUT)


def test_a_table_has_a_bold_header_and_one_row_per_item():
    sheet = exports.Sheet.table("人员", [("姓名", lambda p: p[0]), ("时间", lambda p: p[1])], [("@张三", NOON_UTC)])
    content = exports.xlsx_bytes(sheet)
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames == ["人员"]
    rows = read_xlsx(content)
    assert [c.value for c in rows[0]] == ["姓名", "时间"] and rows[0][0].font.b
    assert [c.value for c in rows[1]] == ["@张三", "2026-12-06 20:00:00 +08:00"] and not rows[1][0].font.b
    assert read_csv(exports.csv_bytes(sheet)) == [["姓名", "时间"], ["'@张三", "2026-12-06 20:00:00 +08:00"]]


def test_download_names_the_file():
    r = exports.download(b"x", kind="csv", filename="incidents-20261206-2000.csv")
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    assert r["Content-Disposition"] == 'attachment; filename="incidents-20261206-2000.csv"'
    assert exports.stamp(NOON_UTC) == "20261206-2000"


WRITERS = re.compile(
    r"^\s*(import|from)\s+(openpyxl|xlsxwriter|xlwt|docx|reportlab|weasyprint|fpdf)\b|\bcsv\.(writer|DictWriter)\b",
    re.MULTILINE,
)


def test_every_export_goes_through_the_helper():
    """One helper writes every export, present and future: no other module of the project writes a
    spreadsheet or document itself (reading CSV, as the code-table import does, is fine)."""
    root = Path(django_settings.BASE_DIR)
    skip = {".venv", ".run", "tests", "bench", "migrations", "node_modules"}
    found = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if not skip & set(path.relative_to(root).parts)
        and path.relative_to(root) != Path("command_center/exports.py")
        and WRITERS.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_docx_writes_every_value_as_text_with_chinese_and_local_times():
    from docx import Document as Docx

    doc = exports.Document("东城分局日推进通报")
    doc.heading("工作要求")
    doc.paragraph('=HYPERLINK("http://x")\x07落实')
    sheet = exports.Sheet("表")
    sheet.row("单位", "时间", "数", style="header")
    sheet.row("@东湖派出所", NOON_UTC, -3)
    doc.table(sheet)
    read = Docx(io.BytesIO(exports.docx_bytes(doc)))
    texts = [p.text for p in read.paragraphs]
    assert texts[:3] == ["东城分局日推进通报", "工作要求", '=HYPERLINK("http://x")\ufffd落实']
    rows = [[c.text for c in row.cells] for row in read.tables[0].rows]
    assert rows == [["单位", "时间", "数"], ["@东湖派出所", "2026-12-06 20:00:00 +08:00", "-3"]]
    assert read.tables[0].rows[0].cells[0].paragraphs[0].runs[0].bold
    assert exports.download(b"x", kind="docx", filename="通报.docx")["Content-Type"] == exports.CONTENT_TYPES["docx"]


def test_pdf_writes_every_value_as_text_in_a_font_whose_chinese_reads_back():
    from pypdf import PdfReader

    doc = exports.Document("三情研判报告")
    doc.heading("警情")
    doc.paragraph('<b>不是标记</b> =HYPERLINK("x") & 东湖')
    sheet = exports.Sheet("表")
    sheet.row("类别", "数量", style="header")
    sheet.row("盗窃", 3)
    doc.table(sheet)
    content = exports.pdf_bytes(doc)
    assert content.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert "三情研判报告" in text and "警情" in text and "盗窃" in text
    assert '<b>不是标记</b> =HYPERLINK("x") & 东湖' in text  # escaped: shown as typed, not read as markup
    assert exports.download(content, kind="pdf", filename="报告.pdf")["Content-Type"] == "application/pdf"
