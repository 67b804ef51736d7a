"""The report as files: DOCX (python-docx, through command_center.exports: every value a text run with an
East Asian font) and PDF (reportlab, with its built-in CID font STSong-Light: no font file needed, and the
text reads back out of the file as Chinese). The analyst's text is written as text (its Markdown blocks,
marks dropped), the figures as tables; times in Asia/Shanghai."""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _

from command_center import exports

from . import rendering
from .models import DailyReport

PDF_FONT = "STSong-Light"


def facts(r: DailyReport) -> list[tuple[str, Any]]:
    return [
        (_("Organisation"), r.org.name),
        (_("Day reported on"), r.day),
        (_("State"), r.get_state_display()),
        (_("Drafted at"), r.drafted_at),
        (_("Published at"), r.published_at),
    ]


def figure_sheets(r: DailyReport) -> list[tuple[str, exports.Sheet]]:
    """The figures as tables: the 警情 categories against the day before and the baseline, then the 网情
    warnings (the text says the rest)."""
    out = []
    inc = r.figures.get("sections", {}).get("incidents", {}).get("figures")
    if inc:
        sheet = exports.Sheet(_("Incidents by category"))
        sheet.row(_("Category"), _("Count"), _("Day before"), _("Baseline mean"), _("Baseline σ"), style="header")
        t = inc["total"]
        sheet.row(_("All"), t["count"], t["previous_day"], t["mean"], t["sd"])
        for row in inc["categories"]:
            sheet.row(row["name"], row["count"], row["previous_day"], row["mean"], row["sd"])
        out.append((_("Incidents by category"), sheet))
    sent = r.figures.get("sections", {}).get("sentiment", {}).get("figures")
    if sent and sent.get("warnings"):
        sheet = exports.Sheet(_("Sentiment warnings"))
        sheet.row(_("Colour"), _("Reason"), _("State"), style="header")
        for w in sent["warnings"]:
            sheet.row(w["colour"], w["reason"], w["state"])
        out.append((_("Sentiment warnings"), sheet))
    return out


def filename(r: DailyReport, ext: str) -> str:
    return f"{r.title}.{ext}".replace("/", "-")


def report_docx(r: DailyReport) -> bytes:
    doc = exports.Document(r.title)
    for label, value in facts(r):
        doc.paragraph(f"{label}：{exports.cell_value(value) or '—'}")
    for kind, text in rendering.plain_blocks(r.body):
        if kind == "heading":
            doc.heading(text)
        elif kind == "item":
            doc.paragraph("• " + text)
        else:
            doc.paragraph(text)
    for title, sheet in figure_sheets(r):
        doc.heading(title)
        doc.table(sheet)
    return exports.docx_bytes(doc)


def _pdf_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    return PDF_FONT


def _pdf_text(value: Any) -> str:
    """A value as Paragraph text: reportlab's paragraphs read a small markup, so the text is escaped."""
    from xml.sax.saxutils import escape

    v = exports.cell_value(value)
    return escape("" if v is None else exports.XML_ILLEGAL.sub("\ufffd", str(v)))


def report_pdf(r: DailyReport) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _pdf_font()
    # wordWrap CJK: Chinese lines break between any two characters.
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, spaceAfter=8)
    heading = ParagraphStyle("heading", parent=body, fontSize=13.5, leading=20, spaceBefore=8, spaceAfter=4)
    story: list[Any] = [Paragraph(_pdf_text(r.title), title)]
    for label, value in facts(r):
        story.append(Paragraph(_pdf_text(f"{label}：{exports.cell_value(value) or '—'}"), body))
    for kind, text in rendering.plain_blocks(r.body):
        if kind == "heading":
            story.append(Paragraph(_pdf_text(text), heading))
        elif kind == "row":
            story.append(Paragraph(_pdf_text(text.replace("\t", " | ")), body))
        else:
            story.append(Paragraph(_pdf_text(("• " if kind == "item" else "") + text), body))
    for name, sheet in figure_sheets(r):
        story += [Spacer(1, 4 * mm), Paragraph(_pdf_text(name), heading)]
        data = [[Paragraph(_pdf_text(v), body) for v in values] for values, _style in sheet.rows]
        table = Table(data, repeatRows=1)
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey)]))
        story.append(table)
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=r.title, leftMargin=18 * mm, rightMargin=18 * mm).build(story)
    return out.getvalue()
