"""The report as files, both written by command_center.exports from one `Document`: DOCX (every value a
text run with an East Asian font) and PDF (reportlab's built-in CID font STSong-Light: no font file needed,
and the text reads back out of the file as Chinese). The analyst's text is written as text (its Markdown blocks,
marks dropped), the figures as tables; times in Asia/Shanghai."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from command_center import exports

from . import rendering
from .models import DailyReport


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
    return exports.docx_bytes(_document(r))


def _document(r: DailyReport) -> exports.Document:
    """The report as a document: facts, the analyst's text (Markdown blocks, marks dropped; a table row as
    its cells), then the figures' tables."""
    doc = exports.Document(r.title)
    for label, value in facts(r):
        doc.paragraph(f"{label}：{exports.cell_value(value) or '—'}")
    for kind, text in rendering.plain_blocks(r.body):
        if kind == "heading":
            doc.heading(text)
        elif kind == "item":
            doc.paragraph("• " + text)
        elif kind == "row":
            doc.paragraph(text.replace("\t", " | "))
        else:
            doc.paragraph(text)
    for title, sheet in figure_sheets(r):
        doc.heading(title)
        doc.table(sheet)
    return doc


def report_pdf(r: DailyReport) -> bytes:
    """The same document as the DOCX, as PDF (exports.pdf_bytes: a CJK font whose text reads back)."""
    return exports.pdf_bytes(_document(r))
