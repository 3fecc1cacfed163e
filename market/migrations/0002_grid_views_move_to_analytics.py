"""`grid_viewed` events move from market.AnalyticsEvent into analytics.Event, the one
event stream (issue 17); coordinates become the section's id."""

from django.db import migrations

BATCH = 5000


def copy_grid_views(apps, schema_editor):
    old = apps.get_model("market", "AnalyticsEvent")
    section_ids = {
        (x, y): pk for pk, x, y in apps.get_model("market", "Section").objects.values_list("pk", "x", "y")
    }
    Event = apps.get_model("analytics", "Event")
    batch = []
    for row in old.objects.order_by("pk").iterator(chunk_size=BATCH):
        batch.append(
            Event(
                kind=row.kind,
                occurred_at=row.occurred_at,
                recorded_at=row.occurred_at,
                visitor=row.visitor,
                section_id=section_ids.get((row.x, row.y)),
            )
        )
        if len(batch) == BATCH:
            Event.objects.bulk_create(batch)
            batch = []
    Event.objects.bulk_create(batch)


def copy_back(apps, schema_editor):
    sections = {
        pk: (x, y) for pk, x, y in apps.get_model("market", "Section").objects.values_list("pk", "x", "y")
    }
    old = apps.get_model("market", "AnalyticsEvent")
    Event = apps.get_model("analytics", "Event")
    old.objects.bulk_create(
        [
            old(kind=e.kind, occurred_at=e.occurred_at, visitor=e.visitor, x=x, y=y)
            for e in Event.objects.filter(kind="grid_viewed", section_id__in=sections)
            for x, y in [sections[e.section_id]]
        ],
        batch_size=BATCH,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("market", "0001_initial"),
        ("analytics", "0001_event_stream_and_rollups"),
    ]

    operations = [
        migrations.RunPython(copy_grid_views, copy_back),
        migrations.DeleteModel(name="AnalyticsEvent"),
    ]
