"""Admin for 社情: the register (volunteers) and the code tables (categories, points rules) are edited here;
reports, photos, their logs and the points ledger are shown only — they move through the services."""

from django.contrib import admin

from command_center.admin import AppendOnlyAdmin, ReadOnlyAdmin

from .models import PointsEntry, PointsRule, ReportCategory, ReportPhoto, ReportTransition, Volunteer, VolunteerReport


@admin.register(Volunteer)
class VolunteerAdmin(admin.ModelAdmin):
    list_display = ["person", "station", "community", "grid", "phone", "points", "active"]
    list_filter = ["active", "station"]
    search_fields = ["person__display_name", "phone", "grid"]
    raw_id_fields = ["person"]
    # The total is the ledger's sum, kept by the services.
    readonly_fields = ["points"]


@admin.register(ReportCategory)
class ReportCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "incident_category", "triage_within_s", "ordering", "active"]
    list_filter = ["kind", "active"]
    raw_id_fields = ["incident_category"]


@admin.register(PointsRule)
class PointsRuleAdmin(admin.ModelAdmin):
    list_display = ["event", "points"]


class PhotoInline(admin.TabularInline):
    model = ReportPhoto
    extra = 0
    can_delete = False
    fields = ["name", "content_type", "size", "uploaded_at"]
    readonly_fields = ["name", "content_type", "size", "uploaded_at"]


@admin.register(VolunteerReport)
class VolunteerReportAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "category", "volunteer", "org", "state", "submitted_at", "triaged_at"]
    list_filter = ["state", "kind"]
    search_fields = ["text"]
    inlines = [PhotoInline]


@admin.register(ReportPhoto)
class ReportPhotoAdmin(ReadOnlyAdmin):
    list_display = ["name", "report", "content_type", "size", "uploaded_at"]


@admin.register(ReportTransition)
class ReportTransitionAdmin(AppendOnlyAdmin):
    list_display = ["subject", "from_state", "to_state", "event", "actor", "at"]


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyAdmin):
    list_display = ["volunteer", "report", "event", "points", "at"]
