from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class PlacesConfig(AppConfig):
    name = "places"
    verbose_name = _("Places")
    demo_loader = "places.demo.load_demo"

    def ready(self) -> None:
        from command_center import memo

        from .models import Jurisdiction

        # Polygons are read once per process (selectors.jurisdictions); an edit reaches every process
        # within about a second, as for the org tree (memo.py).
        post_save.connect(memo.forget, sender=Jurisdiction, dispatch_uid="memo.save.Jurisdiction")
        post_delete.connect(memo.forget, sender=Jurisdiction, dispatch_uid="memo.delete.Jurisdiction")
