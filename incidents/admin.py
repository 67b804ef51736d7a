from django.contrib import admin

from command_center.admin import AppendOnlyAdmin, ReadOnlyStateAdmin

from .models import (
    Callback,
    Diversion,
    DiversionTerms,
    DiversionTransition,
    Feedback,
    Incident,
    IncidentSequence,
    IncidentTransition,
    RepeatCluster,
    RepeatLink,
    SlaPolicy,
)


@admin.register(Incident)
class IncidentAdmin(ReadOnlyStateAdmin):
    list_display = ["number", "state", "category", "level", "org", "address", "reported_at"]
    list_filter = ["state", "level", "source"]
    search_fields = ["number", "address", "caller_phone", "call_id"]
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
