"""Admin for the loop: everything is shown, nothing that carries state is edited here — directives, tasks and
reports move through the API (services), logs are append-only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from command_center.admin import AppendOnlyAdmin, ReadOnlyAdmin

from .models import (
    Analysis,
    AnalysisTransition,
    Attachment,
    ClosureReport,
    Directive,
    DirectiveTransition,
    Hotspot,
    HotspotCount,
    HotspotRule,
    Task,
    TaskDirective,
    TaskReport,
    TaskTransition,
)


class TaskDirectiveInline(admin.TabularInline):
    model = TaskDirective
    extra = 0
    can_delete = False
    readonly_fields = ["task", "directive", "org", "added_at", "merged", "approved_at", "withdrawn_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Analysis)
class AnalysisAdmin(ReadOnlyAdmin):
    list_display = ["title", "org", "author", "state", "created_at", "published_at"]
    list_filter = ["state"]
    search_fields = ["title", "body"]
    date_hierarchy = "created_at"


@admin.register(Directive)
class DirectiveAdmin(ReadOnlyAdmin):
    list_display = ["title", "colour", "source", "state", "issuer_org", "issued_at", "closed_at"]
    list_filter = ["state", "colour", "source"]
    search_fields = ["title", "content", "subject"]
    date_hierarchy = "issued_at"
    inlines = [TaskDirectiveInline]


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ["title", "org", "colour", "state", "rework_count", "issued_at", "sign_due_at", "report_due_at"]
    list_filter = ["state", "colour"]
    search_fields = ["title", "subject", "org__name"]
    date_hierarchy = "issued_at"
    inlines = [TaskDirectiveInline]


@admin.register(TaskReport)
class TaskReportAdmin(ReadOnlyAdmin):
    list_display = ["task", "org", "author", "created_at", "decision", "decided_at"]
    list_filter = ["decision"]
    search_fields = ["text"]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["name", "content_type", "size", "directive", "report", "uploaded_at"]
    search_fields = ["name", "sha256"]
    exclude = ["file"]  # no link to the file: downloads go through the scoped endpoint


@admin.register(ClosureReport)
class ClosureReportAdmin(ReadOnlyAdmin):
    list_display = ["directive", "generated_at"]


admin.site.register(TaskDirective, ReadOnlyAdmin)
admin.site.register(AnalysisTransition, AppendOnlyAdmin)
admin.site.register(DirectiveTransition, AppendOnlyAdmin)
admin.site.register(TaskTransition, AppendOnlyAdmin)


@admin.register(HotspotRule)
class HotspotRuleAdmin(admin.ModelAdmin):
    """The hotspots' thresholds: data an administrator edits (load_codes ships the defaults)."""

    list_display = ["__str__", "weeks", "min_count", "sigma_floor", "z_red", "z_yellow", "z_blue", "active"]
    list_filter = ["active"]


@admin.register(Hotspot)
class HotspotAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "scope", "area", "category", "period", "start", "count", "colour", "created_at"]
    list_filter = ["colour", "area", "period"]
    date_hierarchy = "start"


@admin.register(HotspotCount)
class HotspotCountAdmin(ReadOnlyAdmin):
    """The rollup, to look at: written by the flush and the rebuild only."""

    list_display = ["day", "cell", "org", "category", "n"]
    list_filter = ["day"]
