"""Admin for supervision: reminders and 督办 orders are written by the sweep, watches by commanders through
the API; the admin shows them and changes nothing."""

from typing import Any

from django.contrib import admin
from django.db import transaction

from command_center.admin import ReadOnlyAdmin

from .models import Reminder, Score, ScoreScheme, SupervisionOrder, Watch


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


@admin.register(ScoreScheme)
class ScoreSchemeAdmin(admin.ModelAdmin):
    """A scheme is versioned: saving an edit stores it as the next version (the active one) and leaves the
    version earlier scores used as it was."""

    list_display = ["name", "version", "active", "red_top", "black_bottom", "created_at"]
    readonly_fields = ["version", "created_at"]

    def save_model(self, request: Any, obj: ScoreScheme, form: Any, change: bool) -> None:
        with transaction.atomic():
            latest = ScoreScheme.objects.select_for_update().order_by("-version").first()
            obj.pk = None  # an edit is a new version
            obj._state.adding = True
            obj.version = (latest.version if latest else 0) + 1
            if obj.active:
                ScoreScheme.objects.filter(active=True).update(active=False)
            obj.save()

    def has_delete_permission(self, request: Any, obj: ScoreScheme | None = None) -> bool:
        return obj is None or not obj.scores.exists()


@admin.register(Score)
class ScoreAdmin(ReadOnlyAdmin):
    list_display = ["org", "period", "first", "last", "total", "rank", "of", "scheme"]
    list_filter = ["period", "scheme"]
    search_fields = ["org__name"]


# Bulletins: drafted by beat, edited and published on their page (supervisors); shown here, changed nowhere.
from .models import Bulletin  # noqa: E402


@admin.register(Bulletin)
class BulletinAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "org", "first", "state", "published_at"]
    list_filter = ["kind", "state"]
    search_fields = ["title", "org__name"]
    date_hierarchy = "first"


# --- 数字督察 (supervision/inspection.py): the rules are set here, per org too; findings are read only. ---

from .models import Finding, InspectionRule, InspectionRuleOrg  # noqa: E402


class InspectionRuleOrgInline(admin.TabularInline):
    model = InspectionRuleOrg
    extra = 0
    autocomplete_fields = ["org"]


@admin.register(InspectionRule)
class InspectionRuleAdmin(admin.ModelAdmin):
    list_display = ["key", "enabled", "params"]
    list_editable = ["enabled"]
    readonly_fields = ["key"]
    inlines = [InspectionRuleOrgInline]

    def has_add_permission(self, request: Any) -> bool:
        return False  # a row per rule in code (inspection.rules_sync)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ["rule", "org", "subject_type", "subject_id", "state", "found_at", "decided_by"]
    list_filter = ["rule", "state"]
    search_fields = ["detail", "reason", "org__name"]
    date_hierarchy = "found_at"


# --- 反馈审核 (supervision/feedback_review.py): the sampling rules are set here (and by supervisors on the
# review page); reviews and rectifications are written by their steps and only shown. ---

from .models import FeedbackRectification, FeedbackReview, FeedbackSampling  # noqa: E402


@admin.register(FeedbackSampling)
class FeedbackSamplingAdmin(admin.ModelAdmin):
    list_display = ["org", "percent", "updated_by", "updated_at"]
    autocomplete_fields = ["org"]
    readonly_fields = ["updated_by", "updated_at"]

    def save_model(self, request: Any, obj: FeedbackSampling, form: Any, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class FeedbackRectificationInline(admin.TabularInline):
    model = FeedbackRectification
    extra = 0
    can_delete = False
    readonly_fields = ["round", "text", "by", "at", "decision", "decided_by", "decided_at", "note"]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(FeedbackReview)
class FeedbackReviewAdmin(ReadOnlyAdmin):
    list_display = ["feedback", "org", "state", "rounds", "reviewer", "decided_at"]
    list_filter = ["state"]
    search_fields = ["note", "org__name", "feedback__incident__number"]
    date_hierarchy = "decided_at"
    inlines = [FeedbackRectificationInline]
