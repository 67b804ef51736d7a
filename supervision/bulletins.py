"""Bulletins (通报): 日推进 (daily), 周通报 (weekly), 月验收 (monthly) — the measures of a period, written up.

Beat generates a draft for every command center each morning at 08:00 Asia/Shanghai (settings.BULLETINS:
yesterday's daily; on Mondays last week's; on the 1st last month's). The figures are a snapshot of
`kpis.compute()` — the one definition of every measure — for the period, the period before and the same
period last year, and the same for each org the bulletin covers (the org's police children: a county's
stations, a city's counties; or the org alone when it has none), so a ranking table can be drawn. Nothing
here computes a figure another way.

A supervisor (or commander) of the org edits the draft's text (summary, problems, requirements) and
publishes it. Publishing issues a blue directive (source "bulletin") from the org to the covered orgs:
each gets a task in its inbox to sign for the bulletin (签收) and, like every task of the loop, to report
that it was relayed and acted on (传达学习, 落实要求) — see README "Bulletins" for why the loop's ordinary
task and not a sign-only one. A published bulletin no longer changes (409).

Steps of `bulletin_generate` (idempotent): compute the snapshot outside any lock, then insert; a second
run — or a second worker at once — meets the unique (kind, org, first) and returns the first row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from command_center import exports, orgs
from command_center.errors import Refused
from command_center.models import Org, Role
from command_center.transitions import InvalidTransition
from intel import services as loop
from intel.models import Colour, Directive

from . import kpis
from .models import Bulletin

EDIT_ROLES = [Role.SUPERVISOR, Role.COMMANDER]
TEXT_FIELDS = ("title", "summary", "problems", "requirements")
MAX_TEXT = 20000
PERIOD_OF = {Bulletin.Kind.DAILY: "day", Bulletin.Kind.WEEKLY: "week", Bulletin.Kind.MONTHLY: "month"}
# The measures of the ranking table (DOCX, page chart): one per stage of the work, the first is charted.
RANKED = [
    "sign_30s_rate",
    "feedback_on_time_rate",
    "callback_coverage_rate",
    "satisfaction_rate",
    "task_signed_on_time_rate",
]


# --- Periods --------------------------------------------------------------------------------------------


def period_of(kind: str, day: date) -> tuple[date, date]:
    """The first and last day of the `kind` period holding `day` (a week runs Monday to Sunday)."""
    return kpis.period_days(PERIOD_OF[Bulletin.Kind(kind)], day)


def due_today(today: date) -> list[str]:
    """The kinds whose period ended yesterday: daily always, weekly on Mondays, monthly on the 1st."""
    kinds = [Bulletin.Kind.DAILY.value]
    if today.weekday() == 0:
        kinds.append(Bulletin.Kind.WEEKLY.value)
    if today.day == 1:
        kinds.append(Bulletin.Kind.MONTHLY.value)
    return kinds


# --- Figures --------------------------------------------------------------------------------------------


def covered(org: Org) -> list[Org]:
    """The orgs a bulletin covers (rows of its ranking, recipients of its sign-for): the org's police
    children (not partners, nor a station's communities, which sign nothing), or the org itself when it has
    none."""
    children = list(
        Org.objects.get_children(org).filter(kind=Org.Kind.POLICE).exclude(level=Org.Level.COMMUNITY).order_by("path")
    )
    return children or [org]


def _values(scope: kpis.Scope) -> dict[str, dict[str, Any]]:
    return {
        key: {"value": v.value, "numerator": v.numerator, "denominator": v.denominator}
        for key, v in kpis.compute(scope).items()
    }


def _span(scope: kpis.Scope) -> dict[str, str]:
    return {"first": scope.first.isoformat(), "last": scope.last.isoformat()}


def snapshot(kind: str, org: Org, first: date, last: date) -> dict[str, Any]:
    """The bulletin's figures: every measure now, the period before and last year (kpis.compute, nothing
    else), and every covered org's measures now."""
    period = PERIOD_OF[Bulletin.Kind(kind)]
    scope = kpis.Scope(org, first, last)
    before, year = kpis.previous(scope, period), kpis.last_year(scope, period)
    return {
        "period": _span(scope),
        "previous": _span(before),
        "last_year": _span(year),
        "kpis": {"current": _values(scope), "previous": _values(before), "last_year": _values(year)},
        "orgs": [{"org": o.pk, "name": o.name, "kpis": _values(kpis.Scope(o, first, last))} for o in covered(org)],
    }


def fmt(unit: str, value: float | None) -> str:
    """A figure as a person reads it: 87.5%, 42 s, 3; an empty period as —."""
    if value is None:
        return "—"
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        return _("%(n)s s") % {"n": f"{value:.0f}"}
    return f"{value:.0f}"


def change(k: kpis.Kpi, now: float | None, before: float | None) -> str:
    """Better, worse or level against a comparison figure, in the KPI's direction."""
    if now is None or before is None or now == before:
        return ""
    better = (now > before) == (k.better == "higher")
    return _("better") if better else _("worse")


@dataclass(frozen=True)
class Line:
    """One measure of a bulletin as shown: label, unit, and its three figures formatted."""

    key: str
    label: str
    unit: str
    current: str
    previous: str
    last_year: str
    vs_previous: str
    vs_last_year: str


def lines(b: Bulletin) -> list[Line]:
    f = b.figures.get("kpis", {})
    out = []
    for k in kpis.KPIS:
        now = f.get("current", {}).get(k.key, {}).get("value")
        prev = f.get("previous", {}).get(k.key, {}).get("value")
        last = f.get("last_year", {}).get(k.key, {}).get("value")
        out.append(
            Line(
                k.key,
                str(k.label),
                k.unit,
                fmt(k.unit, now),
                fmt(k.unit, prev),
                fmt(k.unit, last),
                change(k, now, prev),
                change(k, now, last),
            )
        )
    return out


def ranking(b: Bulletin, keys: list[str] | None = None) -> tuple[list[kpis.Kpi], list[dict[str, Any]]]:
    """The covered orgs' rows, best first by the first ranked measure (empty figures last)."""
    cols = [kpis.BY_KEY[k] for k in (keys or RANKED)]
    first = cols[0]
    rows = list(b.figures.get("orgs", []))

    def order(row: dict[str, Any]) -> tuple[int, float]:
        v = row["kpis"].get(first.key, {}).get("value")
        if v is None:
            return (1, 0.0)
        return (0, -v if first.better == "higher" else v)

    return cols, sorted(rows, key=order)


def draft_texts(kind: str, figures: dict[str, Any]) -> tuple[str, str]:
    """A draft's summary (every measure with a figure, against the period before and last year) and its
    problems (the measures that got worse than the period before), for the supervisor to edit."""
    f = figures["kpis"]
    summary, problems = [], []
    for k in kpis.KPIS:
        now = f["current"][k.key]["value"]
        if now is None:
            continue
        prev, last = f["previous"][k.key]["value"], f["last_year"][k.key]["value"]
        summary.append(
            _("%(label)s: %(now)s (previous period %(prev)s, last year %(last)s)")
            % {"label": k.label, "now": fmt(k.unit, now), "prev": fmt(k.unit, prev), "last": fmt(k.unit, last)}
        )
        if change(k, now, prev) == _("worse"):
            problems.append(
                _("%(label)s fell from %(prev)s to %(now)s.")
                % {"label": k.label, "prev": fmt(k.unit, prev), "now": fmt(k.unit, now)}
            )
    if not summary:
        summary.append(_("Nothing was measured in this period."))
    return "\n".join(summary), "\n".join(problems)


def title_of(kind: str, org: Org, first: date, last: date) -> str:
    if kind == Bulletin.Kind.DAILY:
        return _("%(org)s daily bulletin (日推进) %(day)s") % {"org": org.name, "day": first.isoformat()}
    if kind == Bulletin.Kind.WEEKLY:
        return _("%(org)s weekly bulletin (周通报) %(first)s – %(last)s") % {
            "org": org.name,
            "first": first.isoformat(),
            "last": last.isoformat(),
        }
    return _("%(org)s monthly review (月验收) %(month)s") % {"org": org.name, "month": first.strftime("%Y-%m")}


# --- Writes ---------------------------------------------------------------------------------------------


def bulletin_generate(*, kind: str, org: Org, day: date, actor: Any = None) -> Bulletin:
    """A draft of the `kind` bulletin of `org` for the period holding `day`; the existing one if there is
    one already (whatever its state): running twice makes one bulletin."""
    if kind not in Bulletin.Kind.values:
        raise Refused("kind", _("Choose daily, weekly or monthly."))
    first, last = period_of(kind, day)
    found = Bulletin.objects.filter(kind=kind, org=org, first=first).first()
    if found is not None:
        return found
    figures = snapshot(kind, org, first, last)
    summary, problems = draft_texts(kind, figures)
    try:
        with transaction.atomic():
            return Bulletin.objects.create(
                kind=kind,
                org=org,
                first=first,
                last=last,
                title=title_of(kind, org, first, last)[:200],
                summary=summary,
                problems=problems,
                figures=figures,
                created_at=timezone.now(),
                created_by=actor if actor is not None and actor.is_authenticated else None,
            )
    except IntegrityError:  # another worker made it a moment ago
        return Bulletin.objects.get(kind=kind, org=org, first=first)


def bulletins_generate_due(*, today: date | None = None) -> list[Bulletin]:
    """Beat's morning run: every kind due today (`due_today`) for every command center, for the period
    that ended yesterday."""
    today = today or timezone.localdate()
    yesterday = today - timedelta(days=1)
    made = []
    for org in Org.objects.filter(is_command_center=True).order_by("path"):
        for kind in due_today(today):
            made.append(bulletin_generate(kind=kind, org=org, day=yesterday))
    return made


def _lock(bulletin_id: int) -> Bulletin:
    return Bulletin.objects.select_for_update(of=("self",)).select_related("org").get(pk=bulletin_id)


def _require_draft(b: Bulletin, event: str) -> None:
    if b.state != Bulletin.State.DRAFT:
        raise InvalidTransition(b.state, event, [])


@transaction.atomic
def bulletin_update(*, bulletin_id: int, actor: Any, changes: dict[str, str]) -> Bulletin:
    """Edit a draft's text (title, summary, problems, requirements); a published one is 409."""
    b = _lock(bulletin_id)
    orgs.require(actor, b.org, roles=EDIT_ROLES)
    _require_draft(b, "edit")
    fields = []
    for name, value in changes.items():
        if name not in TEXT_FIELDS:
            continue
        text = str(value).strip() if name == "title" else str(value)
        if name == "title" and not text:
            raise Refused("title", _("Give the bulletin a title."))
        if len(text) > (200 if name == "title" else MAX_TEXT):
            raise Refused(name, _("Too long."))
        setattr(b, name, text)
        fields.append(name)
    b.version += 1
    b.save(update_fields=[*fields, "version"])
    return b


def page_url(b: Bulletin) -> str:
    return reverse("supervision:bulletin", args=[b.pk])


@transaction.atomic
def bulletin_publish(*, bulletin_id: int, actor: Any) -> Bulletin:
    """发布: the draft becomes the bulletin, and the covered orgs get a task to sign for it (a blue directive
    of source "bulletin" from the bulletin's org, through the loop). Twice at once: the second waits for
    the lock and finds it published (409)."""
    b = _lock(bulletin_id)
    orgs.require(actor, b.org, roles=EDIT_ROLES)
    _require_draft(b, "publish")
    now = timezone.now()
    content = "\n\n".join(
        part
        for part in (
            b.summary.strip(),
            b.requirements.strip() and _("Requirements:") + "\n" + b.requirements.strip(),
            _("Read the whole bulletin and download it: %(url)s") % {"url": page_url(b)},
        )
        if part
    )
    b.directive = loop.directive_issue_for(
        actor=actor,
        issuer_org=b.org,
        data=loop.DirectiveData(
            title=(_("Sign for: %(title)s") % {"title": b.title})[:200],
            content=content,
            recipients=covered(b.org),
            colour=Colour.BLUE,
            actions=[_("Relay the bulletin to the officers (传达学习)"), _("Act on its requirements")],
            subject=f"bulletin:{b.pk}",
            source=Directive.Source.BULLETIN,
        ),
    )
    b.state, b.published_at, b.published_by = Bulletin.State.PUBLISHED, now, actor
    b.version += 1
    b.save(update_fields=["state", "published_at", "published_by", "directive", "version"])
    return b


# --- Reads ----------------------------------------------------------------------------------------------


def can_edit(user: Any, b: Bulletin) -> bool:
    try:
        orgs.require(user, b.org, roles=EDIT_ROLES)
    except PermissionDenied:
        return False
    return True


def visible_bulletins(user: Any) -> QuerySet[Bulletin]:
    """Published bulletins of the user's org, of the orgs above it (what covers it) and below it; drafts
    only to supervisors and commanders, of their org's subtree."""
    qs = Bulletin.objects.select_related("org", "published_by", "directive")
    if getattr(user, "is_superuser", False):
        return qs
    person = orgs.person_of(user)
    if person is None:
        return qs.none()
    org = person.org
    area = Q(org__in=[o.pk for o in org.lineage()]) | Q(org__path__startswith=org.path)
    seen = Q(state=Bulletin.State.PUBLISHED) & area
    if person.has_role(*EDIT_ROLES):
        seen |= Q(state=Bulletin.State.DRAFT, org__path__startswith=org.path)
    return qs.filter(seen)


# --- Files ----------------------------------------------------------------------------------------------


def _kpi_sheet(b: Bulletin) -> exports.Sheet:
    f = b.figures
    sheet = exports.Sheet(_("Measures"), widths=(34, 14, 14, 14, 10, 10))
    sheet.row(b.title, style="title")
    sheet.row(
        _("Measure"),
        _("This period (%(first)s – %(last)s)") % f["period"],
        _("Previous period (%(first)s – %(last)s)") % f["previous"],
        _("Last year (%(first)s – %(last)s)") % f["last_year"],
        _("vs previous"),
        _("vs last year"),
        style="header",
    )
    for line in lines(b):
        sheet.row(line.label, line.current, line.previous, line.last_year, line.vs_previous, line.vs_last_year)
    return sheet


def _ranking_sheet(b: Bulletin, keys: list[str] | None = None) -> exports.Sheet:
    cols, rows = ranking(b, keys)
    sheet = exports.Sheet(_("Ranking"), widths=(8, 20, *[14] * len(cols)))
    sheet.row(_("Rank"), _("Organisation"), *(str(k.label) for k in cols), style="header")
    for n, row in enumerate(rows, start=1):
        sheet.row(n, row["name"], *(fmt(k.unit, row["kpis"].get(k.key, {}).get("value")) for k in cols))
    return sheet


def _facts(b: Bulletin) -> list[tuple[str, Any]]:
    return [
        (_("Organisation"), b.org.name),
        (_("Kind"), b.get_kind_display()),
        (_("Period"), f"{b.first.isoformat()} – {b.last.isoformat()}"),
        (_("State"), b.get_state_display()),
        (_("Generated at"), b.created_at),
        (_("Published at"), b.published_at),
    ]


def filename(b: Bulletin, ext: str) -> str:
    return f"{b.title}.{ext}".replace("/", "-")


def bulletin_xlsx(b: Bulletin) -> bytes:
    """The bulletin as a workbook: its text, the measures (now, before, last year) and the full ranking."""
    text = exports.Sheet(_("Bulletin"), widths=(16, 100))
    text.row(b.title, style="title")
    for label, value in _facts(b):
        text.row(label, value, style="label")
    for label, value in ((_("Summary"), b.summary), (_("Problems"), b.problems), (_("Requirements"), b.requirements)):
        text.row(label, value, style="label")
    return exports.xlsx_bytes(text, _kpi_sheet(b), _ranking_sheet(b, [k.key for k in kpis.KPIS]))


def bulletin_docx(b: Bulletin) -> bytes:
    """The bulletin as a Word document: title, facts, the text sections, the measures table and the
    ranking table (the page's chart, as a table)."""
    doc = exports.Document(b.title)
    for label, value in _facts(b):
        doc.paragraph(f"{label}：{exports.cell_value(value) or '—'}")
    for label, value in ((_("Summary"), b.summary), (_("Problems"), b.problems), (_("Requirements"), b.requirements)):
        doc.heading(label)
        for para in (value or "—").splitlines() or ["—"]:
            doc.paragraph(para)
    kpi, rank = _kpi_sheet(b), _ranking_sheet(b)
    kpi.rows = kpi.rows[1:]  # the title row: the document has its own
    doc.heading(_("Measures"))
    doc.table(kpi)
    doc.heading(_("Ranking of the orgs covered"))
    doc.table(rank)
    return exports.docx_bytes(doc)
