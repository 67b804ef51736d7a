"""Admin for the scoring models: the list shows each model's classes, size of training and held-out metrics;
"make active" chooses the model that scores new posts (the others are deactivated in the same transaction).
The model's bytes are never shown or edited here: models come from `manage.py sentiment_train`."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import classifier
from .models import ScoringModel


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "classes", "rows", "macro_f1", "negative_recall", "trained_on", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "trained_on"]
    fields = ["name", "active", "classes", "rows", "trained_on", "metrics", "created_at"]
    readonly_fields = ["name", "active", "classes", "rows", "trained_on", "metrics", "created_at"]
    actions = ["make_active", "make_none_active"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScoringModel]:
        return super().get_queryset(request).defer("data")

    @admin.display(description=_("macro-F1"))
    def macro_f1(self, obj: ScoringModel) -> Any:
        return (obj.metrics or {}).get("macro_f1", "—")

    @admin.display(description=_("negative recall"))
    def negative_recall(self, obj: ScoringModel) -> Any:
        return (obj.metrics or {}).get("per_class", {}).get("negative", {}).get("recall", "—")

    @admin.action(description=_("Make active (the others are deactivated)"), permissions=["change"])
    def make_active(self, request: HttpRequest, queryset: QuerySet[ScoringModel]) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one model to make active."), messages.ERROR)
            return
        model = queryset.get()
        classifier.make_active(model.pk)
        self.message_user(request, _("%(name)s now scores new posts.") % {"name": model.name}, messages.SUCCESS)

    @admin.action(description=_("Use the shipped model (none active)"), permissions=["change"])
    def make_none_active(self, request: HttpRequest, queryset: QuerySet[ScoringModel]) -> None:
        classifier.make_active(None)
        self.message_user(request, _("The shipped model scores new posts."), messages.SUCCESS)
