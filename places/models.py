"""The gazetteer: streets with their house-number ranges, addresses and POIs (one searchable table), and
each org's jurisdiction as a polygon. Geometry is WKT text read with shapely (PostGIS is not assumed)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from command_center.models import Org

from .text import search_key


class Street(models.Model):
    """A street: its line (WKT LINESTRING, lon lat) and the house numbers along it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    aliases = models.JSONField(default=list, blank=True)
    line = models.TextField(help_text="WKT LINESTRING in lon lat (EPSG:4326)")
    from_number = models.PositiveIntegerField(null=True, blank=True)
    to_number = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Place(models.Model):
    """A point a caller names: an address (street + number) or a POI (a school, a mall, a bridge)."""

    class Kind(models.TextChoices):
        ADDRESS = "address", _("Street address")
        POI = "poi", _("Place")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    aliases = models.JSONField(default=list, blank=True)
    category = models.CharField(max_length=40, blank=True)  # a POI's kind: school, hospital, mall, …
    street = models.ForeignKey(Street, null=True, blank=True, on_delete=models.CASCADE, related_name="places")
    number = models.PositiveIntegerField(null=True, blank=True)
    lat = models.FloatField()
    lon = models.FloatField()
    # name + aliases, what the search matches against (a trigram index where pg_trgm exists, migration 0002)
    search = models.TextField(editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="place_kind_name_unique")]
        # The reverse lookup (a map click): the places in a small box around the point.
        indexes = [models.Index(fields=["lat", "lon"], name="place_lat_lon")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Derived, not a side effect: the search key always follows the name and aliases.
        self.search = search_key(self.name, self.aliases)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search"}
        super().save(*args, **kwargs)


class Jurisdiction(models.Model):
    """The area an org answers for (辖区), a WKT (MULTI)POLYGON in lon lat. The kernel does not know of it:
    places points at the org, not the other way round."""

    org = models.OneToOneField(Org, on_delete=models.CASCADE, related_name="jurisdiction")
    area = models.TextField(help_text="WKT POLYGON or MULTIPOLYGON in lon lat (EPSG:4326)")

    def __str__(self) -> str:
        return f"{self.org}"
