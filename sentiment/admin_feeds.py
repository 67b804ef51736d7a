"""Admin for the sources and the pulled feeds (issue 14); sentiment/admin.py imports this module.

A feed's authorisation header is write-only: the form never renders it back (a password field left blank
keeps the one stored, "clear" removes it), and the lists show only whether one is set. A failing feed shows
as failing with its last error and when it is tried next; "Pull at the next run" makes a feed due now.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Feed, Source


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name"]


class FeedForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=1000, assume_scheme="https")
    auth_header = forms.CharField(
        label=_("authorisation header"),
        required=False,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            'Sent as Authorization ("Bearer …"), or as the header named before a colon ("X-Api-Key: …"). '
            "Never shown again: leave blank to keep the one stored."
        ),
    )
    clear_auth_header = forms.BooleanField(label=_("Remove the authorisation header"), required=False)

    class Meta:
        model = Feed
        fields = ["name", "url", "kind", "source", "interval_s", "auth_header", "active"]

    def clean_auth_header(self) -> str:
        value: str = self.cleaned_data.get("auth_header", "")
        if "\r" in value or "\n" in value:
            raise forms.ValidationError(_("One line only."))
        return value

    def save(self, commit: bool = True) -> Feed:
        feed: Feed = super().save(commit=False)
        if self.cleaned_data.get("clear_auth_header"):
            feed.auth_header = ""
        elif not self.cleaned_data.get("auth_header") and feed.pk:
            # Blank means "keep": the stored value was never sent to the browser.
            feed.auth_header = Feed.objects.filter(pk=feed.pk).values_list("auth_header", flat=True).first() or ""
        if commit:
            feed.save()
        return feed


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    form = FeedForm
    list_display = [
        "name",
        "kind",
        "source",
        "active",
        "is_failing",
        "failures",
        "last_error",
        "last_ok_at",
        "last_stored",
        "next_pull_at",
        "auth_set",
    ]
    list_filter = ["active", "kind", "source"]
    search_fields = ["name"]
    readonly_fields = [
        "auth_set",
        "failures",
        "last_error",
        "last_pulled_at",
        "last_ok_at",
        "last_stored",
        "next_pull_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "url", "kind", "source", "interval_s", "active"]}),
        (_("Authorisation"), {"fields": ["auth_set", "auth_header", "clear_auth_header"]}),
        (
            _("Status"),
            {"fields": ["failures", "last_error", "last_pulled_at", "last_ok_at", "last_stored", "next_pull_at"]},
        ),
    ]
    actions = ["pull_next_run"]

    @admin.display(description=_("failing"), boolean=True, ordering="failures")
    def is_failing(self, obj: Feed) -> bool:
        return obj.failing

    @admin.display(description=_("authorisation header"))
    def auth_set(self, obj: Feed) -> str:
        return str(_("set") if obj.auth_header else _("not set"))

    @admin.action(description=_("Pull at the next run"))
    def pull_next_run(self, request: HttpRequest, queryset: QuerySet[Feed]) -> None:
        n = queryset.update(next_pull_at=None)
        self.message_user(request, _("Feeds to pull at the next run: %(n)d.") % {"n": n})
