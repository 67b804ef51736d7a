"""Admin for the briefing: the schedule is data (edited here); reports and duty logs are written through
their pages and the API, and the admin shows them and changes nothing."""

from django.contrib import admin

from command_center.admin import ReadOnlyAdmin

from .models import DailyReport, DutyLog, DutyNote, ReportSchedule


@admin.register(ReportSchedule)
class ReportScheduleAdmin(admin.ModelAdmin):
    list_display = ["org", "hour", "minute", "active"]
    list_filter = ["active"]
    search_fields = ["org__name"]
    autocomplete_fields = ["org"]


@admin.register(DailyReport)
class DailyReportAdmin(ReadOnlyAdmin):
    list_display = ["title", "org", "day", "state", "drafted_at", "published_at"]
    list_filter = ["state"]
    search_fields = ["title", "org__name"]
    date_hierarchy = "day"


@admin.register(DutyLog)
class DutyLogAdmin(ReadOnlyAdmin):
    list_display = ["org", "day", "state", "signed_at"]
    list_filter = ["state"]
    search_fields = ["org__name"]
    date_hierarchy = "day"


@admin.register(DutyNote)
class DutyNoteAdmin(ReadOnlyAdmin):
    list_display = ["log", "text", "author", "at"]
    search_fields = ["text"]
