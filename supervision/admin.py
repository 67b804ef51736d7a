"""Admin for supervision: reminders and 督办 orders are written by the sweep, watches by commanders through
the API; the admin shows them and changes nothing."""

from django.contrib import admin

from command_center.admin import ReadOnlyAdmin

from .models import Reminder, SupervisionOrder, Watch


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ["recipient", "level", "task", "created_at", "acknowledged_at"]
    list_filter = ["level"]
    search_fields = ["text", "recipient__name"]
    date_hierarchy = "created_at"


@admin.register(SupervisionOrder)
class SupervisionOrderAdmin(ReadOnlyAdmin):
    list_display = ["task", "org", "level", "created_at"]
    list_filter = ["level"]
    search_fields = ["reason", "org__name"]


@admin.register(Watch)
class WatchAdmin(ReadOnlyAdmin):
    list_display = ["task", "incident", "org", "by_org", "by", "created_at", "ended_at"]


# Bulletins: drafted by beat, edited and published on their page (supervisors); shown here, changed nowhere.
from .models import Bulletin  # noqa: E402


@admin.register(Bulletin)
class BulletinAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "org", "first", "state", "published_at"]
    list_filter = ["kind", "state"]
    search_fields = ["title", "org__name"]
    date_hierarchy = "first"
