from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from . import tokens
from .models import ApiToken, Category, Deadline, HandlingResult, Org, Person, SupervisionLevel


class ReadOnlyStateAdmin(admin.ModelAdmin):
    """State changes go through services (API and pages); the admin shows, and edits no state field."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyStateAdmin):
    """Rows that services write (the loop, supervision): the admin shows them and changes nothing."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AppendOnlyAdmin(ReadOnlyAdmin):
    """For transition logs and other audit rows: view, never change or delete."""


@admin.register(Org)
class OrgAdmin(TreeAdmin):
    form = movenodeform_factory(Org)
    list_display = ["name", "level", "kind", "region_code", "is_command_center"]
    list_filter = ["level", "kind", "is_command_center"]
    search_fields = ["name", "region_code"]


class PersonInline(admin.StackedInline):
    model = Person
    can_delete = False
    autocomplete_fields = ["org"]


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Changing a password here (or unticking "active") ends the user's API tokens (tokens.user_saved)."""

    inlines = [PersonInline]
    list_display = ["username", "first_name", "is_active", "is_staff", "person_org"]
    actions = ["revoke_api_tokens"]

    @admin.action(description=_("Revoke the API tokens of the selected users"), permissions=["change"])
    def revoke_api_tokens(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        n = sum(tokens.token_revoke_all(user=user) for user in queryset)
        self.message_user(request, ngettext("%(n)d API token revoked.", "%(n)d API tokens revoked.", n) % {"n": n})

    @admin.display(description="org")
    def person_org(self, obj: User) -> str:
        person = getattr(obj, "person", None)
        return str(person.org) if person else "—"


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "org", "badge_no"]
    list_filter = ["org__level"]
    search_fields = ["display_name", "user__username", "badge_no"]
    autocomplete_fields = ["org", "user"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens: seen and revoked here, issued only through the API (the secret is shown to its owner
    once). An administrator sees the tokens of the people of their subtree (tokens.manageable)."""

    list_display = ["id", "user", "name", "created_at", "expires_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["id", "name", "user__username"]
    date_hierarchy = "created_at"
    fields = readonly_fields = ("id", "user", "name", "created_at", "expires_at", "last_used_at")
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        return tokens.manageable(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Revoke the selected API tokens"), permissions=["delete"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        n = tokens.token_revoke_many(token_ids=list(queryset.values_list("pk", flat=True)), actor=request.user)
        self.message_user(request, ngettext("%(n)d API token revoked.", "%(n)d API tokens revoked.", n) % {"n": n})

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        tokens.token_revoke(token_id=obj.pk, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        tokens.token_revoke_many(token_ids=list(queryset.values_list("pk", flat=True)), actor=request.user)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "level", "parent", "active"]
    list_filter = ["level", "active"]
    search_fields = ["code", "name", "name_en"]
    autocomplete_fields = ["parent"]


@admin.register(HandlingResult)
class HandlingResultAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "active"]


@admin.register(SupervisionLevel)
class SupervisionLevelAdmin(admin.ModelAdmin):
    list_display = ["code", "rank", "name", "name_en"]


@admin.register(Deadline)
class DeadlineAdmin(AppendOnlyAdmin):
    """Clocks are started, met and cancelled by services only; the admin shows them."""

    list_display = ["kind", "subject_type", "subject_id", "org", "level", "due_at", "met_at", "breached_at", "attempts"]
    list_filter = ["kind", "level"]
    date_hierarchy = "due_at"


admin.site.site_header = _("Command Center administration")
admin.site.site_title = _("Command Center")
admin.site.index_title = _("Org tree, people, code tables")
