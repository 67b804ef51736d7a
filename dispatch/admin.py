from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from command_center.admin import AppendOnlyAdmin, ReadOnlyStateAdmin

from . import services
from .models import DispatchOrder, OrderTransition, Shift, Unit, UnitTransition


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    """Units are set up here; their status moves through the API (services), never by editing it."""

    list_display = ["call_sign", "kind", "org", "status", "ring_minutes", "position_at", "version"]
    list_filter = ["status", "kind", "ring_minutes"]
    search_fields = ["call_sign", "org__name"]
    autocomplete_fields = ["org"]
    readonly_fields = ["status", "status_reason", "status_changed_at", "position_at", "version"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a unit has a history (orders, logs): take it out of service instead

    def save_model(self, request: HttpRequest, obj: Unit, form: Any, change: bool) -> None:
        services.unit_save_details(unit=obj, actor=request.user, created=not change, changed=form.changed_data)


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    """The roster (勤务) is planned here: shifts carry no state, so plain edits are the write path."""

    list_display = ["person", "org", "unit", "starts_at", "ends_at", "is_commander"]
    list_filter = ["is_commander", "org__level"]
    search_fields = ["person__display_name", "person__user__username", "org__name", "unit__call_sign"]
    autocomplete_fields = ["person", "org", "unit"]
    date_hierarchy = "starts_at"


@admin.register(DispatchOrder)
class DispatchOrderAdmin(ReadOnlyStateAdmin):
    list_display = ["incident", "org", "unit", "kind", "state", "sent_at", "signed_at", "arrived_at"]
    list_filter = ["state", "kind"]
    search_fields = ["incident__number", "unit__call_sign", "org__name"]
    date_hierarchy = "sent_at"
    readonly_fields = [f.name for f in DispatchOrder._meta.fields]


admin.site.register(UnitTransition, AppendOnlyAdmin)
admin.site.register(OrderTransition, AppendOnlyAdmin)
