"""An index for the audit log page's user filter on the history of changes.

The page asks for "this user's changes, newest first"; without an index on (user_name, time)
the database reads the whole history to find a rare user's few rows. The history table belongs
to core, whose model does not declare this index, so it is created here by name (and on both
databases the same way).
"""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS audit_history_user_time "
            "ON core_objectchange (user_name, time)",
            "DROP INDEX IF EXISTS audit_history_user_time",
            elidable=False,
        )
    ]
