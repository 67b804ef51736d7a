from django.db import models

from command_center.models import Deadline, Org, TransitionLog


class Widget(models.Model):
    org = models.ForeignKey(Org, on_delete=models.PROTECT)
    partner = models.ForeignKey(Org, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=40)
    state = models.CharField(max_length=20, default="new")

    def __str__(self) -> str:
        return self.name


class WidgetTransition(TransitionLog):
    subject = models.ForeignKey(Widget, on_delete=models.PROTECT, related_name="transitions")


def on_respond_breach(deadline: Deadline) -> None:
    """Escalation of the test clock: a widget named "poison" makes it raise."""
    widget = Widget.objects.get(pk=deadline.subject_id)
    if widget.name == "poison":
        raise RuntimeError("escalation failed")
    Widget.objects.filter(pk=widget.pk).update(state="late")
