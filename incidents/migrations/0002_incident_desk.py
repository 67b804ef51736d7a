"""Incident.desk (the org of the person who took the call) and the call id unique per desk."""

import django.db.models.deletion
from django.db import migrations, models

# Existing rows: the call-taker's org where there was one, else the command center that numbered it.
BACKFILL = """
UPDATE incidents_incident i
   SET desk_id = COALESCE(
       (SELECT p.org_id FROM command_center_person p WHERE p.user_id = i.taken_by_id), i.intake_org_id)
 WHERE desk_id IS NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("command_center", "0002_deadline_pushed_at"),
        ("incidents", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="desk",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="command_center.org",
                verbose_name="desk",
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="incident",
            name="desk",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="command_center.org",
                verbose_name="desk",
            ),
        ),
        migrations.RemoveConstraint(model_name="incident", name="incident_source_call_id"),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.UniqueConstraint(
                fields=("source", "call_id", "desk"), name="incident_source_call_id_desk"
            ),
        ),
    ]
