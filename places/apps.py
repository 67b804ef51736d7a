from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class PlacesConfig(AppConfig):
    name = "places"
    verbose_name = _("Places")
    demo_loader = "places.demo.load_demo"

    def ready(self) -> None:
        from command_center import memo

        from .models import Jurisdiction, Street

        # Polygons and streets are parsed once per process (selectors.areas, ranged_streets, base_map); an
        # edit reaches every process within about a second, as for the org tree (memo.py).
        for model in (Jurisdiction, Street):
            post_save.connect(memo.forget, sender=model, dispatch_uid=f"memo.save.{model.__name__}")
            post_delete.connect(memo.forget, sender=model, dispatch_uid=f"memo.delete.{model.__name__}")
