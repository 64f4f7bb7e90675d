"""ScimMember.value_key: the folded member id, so that ``members[value eq …]``
is case-insensitive (as RFC 7643 defines ``members.value``) and indexed."""

from typing import Any

from django.db import migrations, models

from scimkit import unique_key


def fill_value_keys(apps: Any, schema_editor: Any) -> None:
    """Fold the existing members' ids, a thousand rows at a time."""
    member = apps.get_model("scimkit", "ScimMember")
    batch = []
    for row in member.objects.only("pk", "value").iterator(chunk_size=1000):
        row.value_key = unique_key("User", {"userName": row.value}) or ""
        batch.append(row)
        if len(batch) == 1000:
            member.objects.bulk_update(batch, ["value_key"])
            batch.clear()
    if batch:
        member.objects.bulk_update(batch, ["value_key"])


class Migration(migrations.Migration):
    """Add, fill and index ``value_key``."""

    dependencies = [("scimkit", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="scimmember",
            name="value_key",
            field=models.CharField(default="", max_length=128),
        ),
        migrations.RunPython(fill_value_keys, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="scimmember",
            index=models.Index(fields=["value_key"], name="scimkit_member_key_idx"),
        ),
    ]
