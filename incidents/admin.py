from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from command_center.admin import AppendOnlyAdmin, ReadOnlyAdmin, ReadOnlyStateAdmin

from . import services, webhooks
from .models import (
    Callback,
    Diversion,
    DiversionProposal,
    DiversionRule,
    DiversionTerms,
    DiversionTransition,
    Feedback,
    HandlingGuide,
    Incident,
    IncidentSequence,
    IncidentTransition,
    PartnerWebhook,
    RepeatCluster,
    RepeatLink,
    SlaPolicy,
    WebhookDelivery,
)


@admin.register(Incident)
class IncidentAdmin(ReadOnlyStateAdmin):
    list_display = ["number", "state", "category", "level", "org", "address", "reported_at"]
    list_filter = ["state", "level", "source"]
    search_fields = ["number", "address", "caller_phone", "call_id", "eido_tracking_id"]
    date_hierarchy = "reported_at"
    readonly_fields = [f.name for f in Incident._meta.fields]


@admin.register(Diversion)
class DiversionAdmin(ReadOnlyStateAdmin):
    list_display = ["incident", "partner", "state", "pushed_at"]
    list_filter = ["state", "partner"]
    readonly_fields = [f.name for f in Diversion._meta.fields]


@admin.register(DiversionTerms)
class DiversionTermsAdmin(admin.ModelAdmin):
    """Each partner's clocks (分流时限): a new term applies to diversions pushed from then on; a partner
    without a row gets DEFAULT_DIVERSION_TERMS."""

    list_display = ["partner", "accept_min", "finish_h"]
    list_select_related = ["partner"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyStateAdmin):
    list_display = ["incident", "result", "org", "created_at"]
    readonly_fields = [f.name for f in Feedback._meta.fields]


@admin.register(Callback)
class CallbackAdmin(ReadOnlyStateAdmin):
    list_display = ["incident", "satisfaction", "channel", "at"]
    list_filter = ["satisfaction", "channel"]
    readonly_fields = [f.name for f in Callback._meta.fields]


@admin.register(RepeatLink)
class RepeatLinkAdmin(ReadOnlyStateAdmin):
    list_display = ["incident", "master", "link_type", "created_at"]
    readonly_fields = [f.name for f in RepeatLink._meta.fields]


@admin.register(RepeatCluster)
class RepeatClusterAdmin(admin.ModelAdmin):
    list_display = ["kind", "theme", "status", "address", "count", "last_at", "org"]
    list_filter = ["kind", "theme", "status"]
    readonly_fields = ["kind", "org", "category", "address", "lat", "lon", "first_at", "last_at", "count", "status"]
    filter_horizontal = ["incidents"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "category_prefix",
        "level",
        "ring_minutes",
        "dispatch_s",
        "sign_s",
        "arrive_s",
        "feedback_s",
        "callback_s",
    ]


@admin.register(IncidentSequence)
class IncidentSequenceAdmin(AppendOnlyAdmin):
    list_display = ["region", "day", "last"]


admin.site.register(IncidentTransition, AppendOnlyAdmin)
admin.site.register(DiversionTransition, AppendOnlyAdmin)


class HandlingGuideForm(forms.ModelForm):
    """The checklist as lines of text, one item a line; a line starting with "!" is a required item."""

    items_text = forms.CharField(
        label=_("checklist"),
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
        help_text=_("One item a line, in order. Start a line with ! for a required item."),
    )

    class Meta:
        model = HandlingGuide
        fields = ["category_prefix", "level", "title"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            lines = [("!" if i.get("required") else "") + str(i["text"]) for i in self.instance.items]
            self.fields["items_text"].initial = "\n".join(lines)

    def clean_items_text(self) -> list[tuple[str, bool]]:
        lines = [line.strip() for line in self.cleaned_data["items_text"].splitlines() if line.strip()]
        items = [(line.lstrip("!").strip(), line.startswith("!")) for line in lines]
        if not [t for t, _r in items if t]:
            raise forms.ValidationError(_("A guide needs at least one item."))
        return items

    def validate_constraints(self, exclude: Any = None) -> None:
        # The revision is a new row (services.guide_revise): the clash with another current guide is checked
        # in clean(), leaving out the version this edit retires.
        pass

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        clash = HandlingGuide.objects.filter(
            current=True, category_prefix=data.get("category_prefix", ""), level=data.get("level")
        )
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("A guide for this category and level exists: revise it."))
        return data


@admin.register(HandlingGuide)
class HandlingGuideAdmin(admin.ModelAdmin):
    """处置指引. Saving an edit stores a new version (services.guide_revise); old versions stay read-only,
    as the feedback that ticked them shows them."""

    form = HandlingGuideForm
    list_display = ["title", "category_prefix", "level", "version", "current", "created_at"]
    list_filter = ["current", "level"]
    search_fields = ["title", "category_prefix"]
    readonly_fields = ["version", "current", "created_at", "checklist"]

    def get_fields(self, request: HttpRequest, obj: HandlingGuide | None = None) -> Any:
        if obj is not None and not self.has_change_permission(request, obj):
            # A retired version (or a reader without the right): the list as it was, read-only.
            return ["category_prefix", "level", "title", "checklist", "version", "current", "created_at"]
        return ["category_prefix", "level", "title", "items_text", "version", "current", "created_at"]

    @admin.display(description=_("checklist"))
    def checklist(self, obj: HandlingGuide) -> str:
        return "\n".join(("!" if i.get("required") else "") + str(i["text"]) for i in obj.items)

    def has_change_permission(self, request: HttpRequest, obj: HandlingGuide | None = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or obj.current)

    def has_delete_permission(self, request: HttpRequest, obj: HandlingGuide | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: HandlingGuide, form: Any, change: bool) -> None:
        fields = {
            "category_prefix": obj.category_prefix,
            "level": obj.level,
            "title": obj.title,
            "items": form.cleaned_data["items_text"],
        }
        if change:
            new = services.guide_revise(guide_id=obj.pk, actor=request.user, **fields)
        else:
            new = services.guide_create(actor=request.user, **fields)
        obj.pk, obj.version, obj.current = new.pk, new.version, new.current


@admin.register(DiversionRule)
class DiversionRuleAdmin(admin.ModelAdmin):
    """非警务警情自动分流: the rules, with their counters over all incidents (hits: proposed at intake;
    confirmed: diverted by the rule; returned: sent back by the target)."""

    list_display = [
        "name",
        "category_prefix",
        "start",
        "end",
        "weekdays",
        "place",
        "target",
        "priority",
        "active",
        "hits",
        "confirmed",
        "returned",
    ]
    list_filter = ["active"]
    list_select_related = ["place", "target"]
    search_fields = ["name", "category_prefix"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DiversionRule]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_hits=Count("proposals", distinct=True),
                n_confirmed=Count("diversions", distinct=True),
                n_returned=Count("diversions", filter=Q(diversions__state=Diversion.State.RETURNED), distinct=True),
            )
        )

    @admin.display(description=_("rule hits"), ordering="n_hits")
    def hits(self, obj: Any) -> int:
        return int(obj.n_hits)

    @admin.display(description=_("confirmed"), ordering="n_confirmed")
    def confirmed(self, obj: Any) -> int:
        return int(obj.n_confirmed)

    @admin.display(description=_("returned"), ordering="n_returned")
    def returned(self, obj: Any) -> int:
        return int(obj.n_returned)

    def has_delete_permission(self, request: HttpRequest, obj: DiversionRule | None = None) -> bool:
        # A rule that was proposed is history (its counters, the diversions naming it): switch it off.
        return super().has_delete_permission(request, obj) and (obj is None or not obj.proposals.exists())


@admin.register(DiversionProposal)
class DiversionProposalAdmin(ReadOnlyStateAdmin):
    list_display = ["incident", "rule", "target", "at"]
    list_select_related = ["incident", "rule", "target"]
    readonly_fields = [f.name for f in DiversionProposal._meta.fields]


class PartnerWebhookForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https", help_text=_("HTTPS only."))
    events = forms.MultipleChoiceField(
        label=_("events"), choices=PartnerWebhook.Event.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = PartnerWebhook
        fields = ["partner", "url", "active", "events"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        webhooks.check_url(url)
        return url


@admin.register(PartnerWebhook)
class PartnerWebhookAdmin(admin.ModelAdmin):
    """A partner's endpoint for its diversions (README, Partner webhooks). The signing secret is made with
    the row and shown once, in the message after saving; "rotate" makes a new one, shown once too."""

    form = PartnerWebhookForm
    list_display = ["partner", "url", "active", "events", "secret_hint", "created_at"]
    list_filter = ["active", "partner"]
    list_select_related = ["partner"]
    readonly_fields = ["secret_hint", "created_at"]
    actions = ["rotate_secret"]

    @admin.display(description=_("signing secret"))
    def secret_hint(self, obj: PartnerWebhook) -> str:
        return obj.masked_secret

    def save_model(self, request: HttpRequest, obj: PartnerWebhook, form: Any, change: bool) -> None:
        fresh = not obj.secret
        if fresh:
            obj.secret = webhooks.new_secret()
        super().save_model(request, obj, form, change)
        if fresh:
            self._show_once(request, obj)

    def _show_once(self, request: HttpRequest, obj: PartnerWebhook) -> None:
        messages.warning(
            request,
            _("Signing secret of %(hook)s, shown only now: %(secret)s") % {"hook": obj, "secret": obj.secret},
        )

    @admin.action(description=_("Rotate the signing secret (shown once)"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[PartnerWebhook]) -> None:
        for obj in queryset:
            obj.secret = webhooks.new_secret()
            obj.save(update_fields=["secret"])
            self._show_once(request, obj)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Every delivery and how it went; the dead letters (filter: state) can be sent again."""

    list_display = [
        "id",
        "webhook",
        "event",
        "diversion",
        "state",
        "attempts",
        "last_status",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["state", "event", "webhook__partner"]
    list_select_related = ["webhook__partner", "diversion__incident"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["redeliver"]

    @admin.action(description=_("Redeliver (from the first attempt)"))
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        n = webhooks.deliveries_redeliver(queryset)
        messages.success(request, _("Deliveries queued again: %(n)d.") % {"n": n})

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Read-only rows, but the action needs the change permission: the form has nothing to edit.
        return bool(request.user.has_perm("incidents.change_webhookdelivery"))
