"""Findings stored once per identity and shared by the assets that have it (issue 5's targets).

The per-asset table ``findings_finding`` becomes a view over verdicts (per identity and
vulnerability), occurrences (identities in groups), memberships (assets in groups) and triage
(a person's status per asset). Statuses people set, and their history, move to triage rows; the
engine's own rows are rebuilt by the next match (the matching state is reset so that the next
automatic re-match is a full one).
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

#: the per-asset findings: membership x occurrence x verdict, with the person's triage and the
#: asset's priority terms (medshield.findings.priority: criticality points, exposure +10,
#: clamped to 0-100). Plain SQL that SQLite and PostgreSQL both read.
_EXPOSED = (
    "(EXISTS (SELECT 1 FROM network_connectionhop h WHERE h.asset_id = m.asset_id)"
    " OR EXISTS (SELECT 1 FROM network_externalconnection_reaches r"
    " WHERE r.asset_id = m.asset_id))"
)
CREATE_VIEW = f"""
CREATE VIEW findings_finding AS
SELECT x.*,
    CASE WHEN x.raw_priority > 100 THEN 100 WHEN x.raw_priority < 0 THEN 0
         ELSE x.raw_priority END AS priority
FROM (
    SELECT
        v.id * 4294967296 + m.id AS id,
        v.id AS verdict_id,
        m.id AS membership_id,
        m.asset_id AS asset_id,
        v.vulnerability_id AS vulnerability_id,
        o.component_id AS component_id,
        o.component_key AS component_key,
        o.component_label AS component_label,
        v.advisories AS advisories,
        v.certainty AS certainty,
        v.match_status AS match_status,
        CASE WHEN t.id IS NOT NULL THEN t.status
             WHEN v.resolved_at IS NOT NULL OR m.until IS NOT NULL THEN 'resolved'
             WHEN v.match_status IN ('not_affected', 'fixed') THEN v.match_status
             ELSE 'open' END AS status,
        (t.id IS NOT NULL) AS status_set_by_user,
        COALESCE(t.note, '') AS status_note,
        v.reason AS reason,
        v.evidence AS evidence,
        v.sources AS sources,
        v.justification AS justification,
        v.cvss3_score AS cvss3_score,
        v.cvss4_score AS cvss4_score,
        v.kev AS kev,
        v.epss AS epss,
        {_EXPOSED} AS exposed,
        v.base_priority
            + CASE a.criticality WHEN 'life_sustaining' THEN 15 WHEN 'treatment' THEN 10
                   WHEN 'diagnostic' THEN 6 WHEN 'support' THEN 3 ELSE 0 END
            + CASE WHEN {_EXPOSED} THEN 10 ELSE 0 END AS raw_priority,
        CASE WHEN m.since > v.first_seen THEN m.since ELSE v.first_seen END AS first_seen,
        v.last_seen AS last_seen,
        CASE WHEN v.resolved_at IS NULL THEN m.until
             WHEN m.until IS NULL THEN v.resolved_at
             WHEN m.until < v.resolved_at THEN m.until
             ELSE v.resolved_at END AS resolved_at
    FROM findings_membership m
    JOIN assets_asset a ON a.id = m.asset_id
    JOIN findings_occurrence o ON o.group_key = m.group_key
    JOIN findings_verdict v ON v.identity = o.identity
    LEFT JOIN findings_triage t ON t.asset_id = m.asset_id
        AND t.vulnerability_id = v.vulnerability_id AND t.component_key = o.component_key
) x
"""


def keep_triage(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Statuses people set become triage rows, and their history follows them."""
    old = apps.get_model("findings", "Finding")
    triage = apps.get_model("findings", "Triage")
    content_type = apps.get_model("contenttypes", "ContentType")
    change = apps.get_model("core", "ObjectChange")
    apps.get_model("findings", "MatchState").objects.all().delete()
    rows = old.objects.filter(status_set_by_user=True).values_list(
        "pk", "asset_id", "vulnerability_id", "component_key", "status", "status_note"
    )
    if not rows.exists():
        return
    finding_type, _ = content_type.objects.get_or_create(app_label="findings", model="finding")
    triage_type, _ = content_type.objects.get_or_create(app_label="findings", model="triage")
    for pk, asset, vuln, key, status, note in rows.iterator():
        row, _ = triage.objects.update_or_create(
            asset_id=asset,
            vulnerability_id=vuln,
            component_key=key,
            defaults={"status": status, "note": note},
        )
        change.objects.filter(object_type=finding_type, object_id=pk).update(
            object_type=triage_type, object_id=row.pk
        )


class Migration(migrations.Migration):

    dependencies = [
        ('assets', '0005_asset_tag_no_trailing_newline'),
        ('findings', '0001_initial'),
        ('sboms', '0001_initial'),
        ('vulns', '0001_initial'),
        ('network', '0004_connection_path_step2'),
        ('core', '0002_objectchange_data'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='Membership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('group_key', models.CharField(max_length=40, verbose_name='group')),
                ('since', models.DateTimeField(default=django.utils.timezone.now, verbose_name='since')),
                ('until', models.DateTimeField(blank=True, null=True, verbose_name='until')),
                ('asset', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='match_groups', to='assets.asset', verbose_name='asset')),
            ],
            options={
                'verbose_name': 'group membership',
                'verbose_name_plural': 'group memberships',
                'indexes': [models.Index(fields=['asset'], name='membership_asset')],
                'constraints': [models.UniqueConstraint(fields=('group_key', 'asset'), name='membership_unique')],
            },
        ),
        migrations.CreateModel(
            name='Occurrence',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('group_key', models.CharField(max_length=40, verbose_name='group')),
                ('identity', models.CharField(max_length=40, verbose_name='identity')),
                ('component_key', models.CharField(blank=True, max_length=500, verbose_name='component identity')),
                ('component_label', models.CharField(blank=True, max_length=500, verbose_name='component')),
                ('component', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='sboms.component', verbose_name='SBOM component')),
            ],
            options={
                'verbose_name': 'identity in a group',
                'verbose_name_plural': 'identities in groups',
                'indexes': [models.Index(fields=['identity'], name='occurrence_identity')],
                'constraints': [models.UniqueConstraint(fields=('group_key', 'identity'), name='occurrence_unique')],
            },
        ),
        migrations.CreateModel(
            name='Triage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                ('last_updated', models.DateTimeField(auto_now=True, verbose_name='last updated')),
                ('component_key', models.CharField(blank=True, max_length=500, verbose_name='component identity')),
                ('status', models.CharField(choices=[('open', 'Open'), ('in_progress', 'In progress'), ('mitigated', 'Mitigated'), ('accepted_risk', 'Risk accepted'), ('not_affected', 'Closed: not affected'), ('fixed', 'Closed: fixed'), ('resolved', 'Closed: no longer matches')], default='open', max_length=20, verbose_name='status')),
                ('note', models.TextField(blank=True, verbose_name='note')),
                ('asset', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='triage', to='assets.asset', verbose_name='asset')),
                ('vulnerability', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='vulns.vulnerability', verbose_name='vulnerability')),
            ],
            options={
                'verbose_name': 'triage',
                'verbose_name_plural': 'triage',
                'constraints': [models.UniqueConstraint(fields=('asset', 'vulnerability', 'component_key'), name='triage_unique')],
            },
        ),
        migrations.CreateModel(
            name='Verdict',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('identity', models.CharField(max_length=40, verbose_name='identity')),
                ('advisories', models.JSONField(blank=True, default=list, verbose_name='advisories')),
                ('certainty', models.CharField(choices=[('confirmed', 'Confirmed'), ('uncertain', 'Uncertain')], max_length=10, verbose_name='certainty')),
                ('match_status', models.CharField(choices=[('affected', 'Affected'), ('under_investigation', 'Under investigation'), ('not_affected', 'Not affected'), ('fixed', 'Fixed')], max_length=20, verbose_name='status according to the sources')),
                ('reason', models.TextField(verbose_name='why it matched')),
                ('evidence', models.JSONField(blank=True, default=list, verbose_name='evidence')),
                ('sources', models.JSONField(blank=True, default=list, verbose_name='sources')),
                ('justification', models.TextField(blank=True, verbose_name='justification')),
                ('cvss3_score', models.DecimalField(blank=True, decimal_places=1, max_digits=3, null=True, verbose_name='CVSS v3.1 base score')),
                ('cvss4_score', models.DecimalField(blank=True, decimal_places=1, max_digits=3, null=True, verbose_name='CVSS v4 base score')),
                ('kev', models.BooleanField(default=False, verbose_name='known exploited (KEV)')),
                ('epss', models.FloatField(blank=True, null=True, verbose_name='EPSS score')),
                ('base_priority', models.SmallIntegerField(default=0, verbose_name="priority before the asset's terms")),
                ('first_seen', models.DateTimeField(default=django.utils.timezone.now, verbose_name='first seen')),
                ('last_seen', models.DateTimeField(default=django.utils.timezone.now, verbose_name='last seen')),
                ('resolved_at', models.DateTimeField(blank=True, null=True, verbose_name='no longer matched since')),
                ('fingerprint', models.CharField(blank=True, editable=False, max_length=40)),
                ('vulnerability', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='verdicts', to='vulns.vulnerability', verbose_name='vulnerability')),
            ],
            options={
                'verbose_name': 'verdict',
                'verbose_name_plural': 'verdicts',
                'indexes': [models.Index(fields=['vulnerability'], name='verdict_vulnerability')],
                'constraints': [models.UniqueConstraint(fields=('identity', 'vulnerability'), name='verdict_identity_vulnerability')],
            },
        ),
        migrations.RunPython(keep_triage, migrations.RunPython.noop),
        migrations.DeleteModel(name='Finding'),
        migrations.CreateModel(
            name='Finding',
            fields=[
                ('id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('component_key', models.CharField(blank=True, max_length=500, verbose_name='component identity')),
                ('component_label', models.CharField(blank=True, max_length=500, verbose_name='component')),
                ('advisories', models.JSONField(blank=True, default=list, verbose_name='advisories')),
                ('certainty', models.CharField(choices=[('confirmed', 'Confirmed'), ('uncertain', 'Uncertain')], max_length=10, verbose_name='certainty')),
                ('match_status', models.CharField(choices=[('affected', 'Affected'), ('under_investigation', 'Under investigation'), ('not_affected', 'Not affected'), ('fixed', 'Fixed')], max_length=20, verbose_name='status according to the sources')),
                ('status', models.CharField(choices=[('open', 'Open'), ('in_progress', 'In progress'), ('mitigated', 'Mitigated'), ('accepted_risk', 'Risk accepted'), ('not_affected', 'Closed: not affected'), ('fixed', 'Closed: fixed'), ('resolved', 'Closed: no longer matches')], max_length=20, verbose_name='status')),
                ('status_set_by_user', models.BooleanField(default=False, verbose_name='status set by a person')),
                ('status_note', models.TextField(blank=True, verbose_name='note')),
                ('reason', models.TextField(verbose_name='why it matched')),
                ('evidence', models.JSONField(blank=True, default=list, verbose_name='evidence')),
                ('sources', models.JSONField(blank=True, default=list, verbose_name='sources')),
                ('justification', models.TextField(blank=True, verbose_name='justification')),
                ('cvss3_score', models.DecimalField(blank=True, decimal_places=1, max_digits=3, null=True, verbose_name='CVSS v3.1 base score')),
                ('cvss4_score', models.DecimalField(blank=True, decimal_places=1, max_digits=3, null=True, verbose_name='CVSS v4 base score')),
                ('kev', models.BooleanField(default=False, verbose_name='known exploited (KEV)')),
                ('epss', models.FloatField(blank=True, null=True, verbose_name='EPSS score')),
                ('exposed', models.BooleanField(default=False, verbose_name='exposed to an external connection')),
                ('priority', models.SmallIntegerField(default=0, verbose_name='priority')),
                ('first_seen', models.DateTimeField(verbose_name='first seen')),
                ('last_seen', models.DateTimeField(verbose_name='last seen')),
                ('resolved_at', models.DateTimeField(blank=True, null=True, verbose_name='no longer matched since')),
                ('asset', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='findings', to='assets.asset', verbose_name='asset')),
                ('component', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='findings', to='sboms.component', verbose_name='SBOM component')),
                ('membership', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='findings.membership')),
                ('verdict', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='findings.verdict')),
                ('vulnerability', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='findings', to='vulns.vulnerability', verbose_name='vulnerability')),
            ],
            options={
                'verbose_name': 'finding',
                'verbose_name_plural': 'findings',
                'db_table': 'findings_finding',
                'base_manager_name': 'objects',
                'ordering': ['-priority', 'asset__asset_tag', 'vulnerability__vuln_id'],
                'managed': False,
            },
        ),
        migrations.RunSQL(CREATE_VIEW, "DROP VIEW findings_finding"),
    ]
