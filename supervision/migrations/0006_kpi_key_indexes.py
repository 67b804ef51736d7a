from django.db import migrations

# The rollup's read of the keys marked dirty (rollups.py, `_Part.by_key`) finds each (org, day) key's own rows
# by these indexes — a range scan of the org's day — instead of scanning the whole province's day for each
# dirty day and keeping the keys' rows (at 12,000,000 incidents a year that scan was 70 % of a city's month of
# measures). Built CONCURRENTLY: a province's incident table is not locked against intake while they build.
# A build that is interrupted leaves its index INVALID, which IF NOT EXISTS then skips: drop it
# (`DROP INDEX CONCURRENTLY kpi_…`) and migrate again (docs/operations.md, "Upgrading").
INDEX_DEFS = {
    "kpi_incident_org_reported": "incidents_incident (org_id, reported_at)",
    "kpi_incident_org_closed": "incidents_incident (org_id, closed_at) WHERE closed_at IS NOT NULL",
    "kpi_order_org_sent": "dispatch_dispatchorder (org_id, sent_at)",
}


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("dispatch", "0002_dispatchorder_replaces"),
        ("incidents", "0007_partner_webhooks"),
        ("supervision", "0005_feedback_review"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {on}",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        )
        for name, on in INDEX_DEFS.items()
    ]
