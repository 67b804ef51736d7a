from django.contrib import admin

from .models import Jurisdiction, Place, Street


@admin.register(Street)
class StreetAdmin(admin.ModelAdmin):
    list_display = ("name", "from_number", "to_number")
    search_fields = ("name",)


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "category", "lat", "lon")
    list_filter = ("kind",)
    search_fields = ("name",)
    exclude = ("search",)


@admin.register(Jurisdiction)
class JurisdictionAdmin(admin.ModelAdmin):
    list_display = ("org",)
    raw_id_fields = ("org",)
