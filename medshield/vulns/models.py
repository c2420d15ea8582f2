"""What the hospital knows about vulnerabilities, from which feed, and what they affect.

A :class:`Vulnerability` is one issue under its primary id (a CVE when there is one, otherwise
the advisory's own id) with the other names it goes by as aliases (STYLE rule 9). Each feed
owns a group of its fields: NVD the description, dates, CWEs and scores; KEV the exploitation
flag; EPSS the probability; CSAF and JVN fill titles and scores only while NVD has not.

An :class:`Advisory` is one CSAF document or JVN iPedia record; :class:`AdvisoryVulnerability`
ties it to the vulnerabilities it names, :class:`AdvisoryProduct` holds its product tree
leaves and :class:`ProductStatus` says, per vulnerability and product, what the advisory claims
(affected, fixed, not affected and why...). NVD applicability is kept per record as
:class:`NvdConfigurations` (the configurations as one compact JSON value, so the matching engine
can rebuild "firmware X running on hardware Y", AND of OR-nodes) plus :class:`CpeKey` rows, the
record's distinct vulnerable vendor/product names as integers, for the candidate lookup.

The tables are lean on purpose: NVD alone is about 400,000 records and 1.6 million ranges.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class FeedKind(models.TextChoices):
    """The feeds medshield reads; also the ``--format`` names of ``feeds import``."""

    NVD = "nvd", _("NVD (CVE API 2.0)")
    JVN = "jvn", _("JVN iPedia")
    CSAF = "csaf", _("CSAF advisories")
    KEV = "kev", _("CISA KEV catalog")
    EPSS = "epss", _("FIRST EPSS")


class Severity(models.TextChoices):
    """The CVSS qualitative rating (the same words in v3 and v4)."""

    NONE = "NONE", _("None")
    LOW = "LOW", _("Low")
    MEDIUM = "MEDIUM", _("Medium")
    HIGH = "HIGH", _("High")
    CRITICAL = "CRITICAL", _("Critical")


class StatusKind(models.TextChoices):
    """A CSAF ``product_status`` list name (JVN's affected products are ``known_affected``)."""

    FIRST_AFFECTED = "first_affected", _("First affected")
    KNOWN_AFFECTED = "known_affected", _("Known affected")
    LAST_AFFECTED = "last_affected", _("Last affected")
    FIRST_FIXED = "first_fixed", _("First fixed")
    FIXED = "fixed", _("Fixed")
    KNOWN_NOT_AFFECTED = "known_not_affected", _("Known not affected")
    RECOMMENDED = "recommended", _("Recommended")
    UNDER_INVESTIGATION = "under_investigation", _("Under investigation")
    #: CSAF 2.1 adds it; kept so 2.1 documents lose nothing
    UNKNOWN = "unknown", _("Unknown")


class Vulnerability(models.Model):
    """One vulnerability under its primary id, with what every feed says about it."""

    vuln_id = models.CharField(_("ID"), max_length=64, unique=True)
    aliases = models.JSONField(_("aliases"), default=list, blank=True)
    title = models.CharField(_("title"), max_length=500, blank=True)
    title_ja = models.CharField(_("Japanese title"), max_length=500, blank=True)
    description = models.TextField(_("description"), blank=True)
    published = models.DateTimeField(_("published"), null=True, blank=True)
    #: not indexed: nothing filters or sorts by it, and an index of 400,000 dates in random
    #: order was a tenth of the time a full NVD import took to write
    modified = models.DateTimeField(_("last modified"), null=True, blank=True)
    cvss3_score = models.DecimalField(
        _("CVSS v3 base score"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    cvss3_vector = models.CharField(_("CVSS v3 vector"), max_length=100, blank=True)
    cvss3_severity = models.CharField(
        _("CVSS v3 severity"), max_length=8, choices=Severity.choices, blank=True
    )
    cvss4_score = models.DecimalField(
        _("CVSS v4 base score"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    cvss4_vector = models.CharField(_("CVSS v4 vector"), max_length=200, blank=True)
    cvss4_severity = models.CharField(
        _("CVSS v4 severity"), max_length=8, choices=Severity.choices, blank=True
    )
    #: which feed the scores came from (NVD's own analysis wins over an advisory's)
    score_source = models.CharField(_("score source"), max_length=8, blank=True)
    cwes = models.JSONField(_("CWEs"), default=list, blank=True)
    #: NVD's lastModified; null when NVD has not (yet) been imported for this id
    nvd_modified = models.DateTimeField(_("NVD last modified"), null=True, blank=True)
    nvd_status = models.CharField(_("NVD status"), max_length=30, blank=True)
    #: the CNA's own product statements NVD copies from the CVE record (``affected[]``):
    #: [{vendor, product, versions: [{version, status, lessThan...}]}]; the only product data
    #: of the many records NVD has not analysed into configurations
    cna_affected = models.JSONField(_("affected (CNA)"), default=list, blank=True)
    kev = models.BooleanField(_("known exploited (KEV)"), default=False, db_index=True)
    kev_date_added = models.DateField(_("KEV date added"), null=True, blank=True)
    kev_due_date = models.DateField(_("KEV due date"), null=True, blank=True)
    kev_ransomware = models.BooleanField(_("used by ransomware"), default=False)
    kev_required_action = models.TextField(_("KEV required action"), blank=True)
    epss_score = models.FloatField(_("EPSS score"), null=True, blank=True)
    epss_percentile = models.FloatField(_("EPSS percentile"), null=True, blank=True)
    epss_date = models.DateField(_("EPSS date"), null=True, blank=True)
    epss_model = models.CharField(_("EPSS model version"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("vulnerability")
        verbose_name_plural = _("vulnerabilities")
        ordering = ["vuln_id"]

    def __str__(self) -> str:
        return self.vuln_id

    @property
    def display_title(self) -> str:
        """The best short name: the Japanese title, the English title or the id."""
        return self.title_ja or self.title or self.vuln_id


class Advisory(models.Model):
    """One CSAF document or JVN iPedia record (a JVNDB id), as last imported."""

    kind = models.CharField(_("source"), max_length=8, choices=FeedKind.choices)
    advisory_id = models.CharField(_("ID"), max_length=200)
    publisher = models.CharField(_("publisher"), max_length=200, blank=True)
    publisher_namespace = models.CharField(_("publisher namespace"), max_length=200, blank=True)
    #: CSAF ``document.category``; for JVN "vuldef" (detail) or "jvnrss" (overview)
    category = models.CharField(_("category"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=500)
    lang = models.CharField(_("language"), max_length=20, blank=True)
    tlp = models.CharField(_("TLP"), max_length=20, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    url = models.URLField(_("URL"), max_length=500, blank=True)
    version = models.CharField(_("tracking version"), max_length=50, blank=True)
    initial_release_date = models.DateTimeField(_("first released"), null=True, blank=True)
    current_release_date = models.DateTimeField(_("current release"), null=True, blank=True)
    sha256 = models.CharField(_("source file SHA-256"), max_length=64)
    vulnerabilities = models.ManyToManyField(
        Vulnerability,
        through="AdvisoryVulnerability",
        related_name="advisories",
        verbose_name=_("vulnerabilities"),
    )

    class Meta:
        verbose_name = _("advisory")
        verbose_name_plural = _("advisories")
        ordering = ["-current_release_date", "advisory_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "publisher_namespace", "advisory_id"], name="vulns_advisory_unique"
            )
        ]

    def __str__(self) -> str:
        return self.advisory_id


class AdvisoryVulnerability(models.Model):
    """What one advisory says about one vulnerability: its scores, CWE and remediations."""

    advisory = models.ForeignKey(
        Advisory, on_delete=models.CASCADE, related_name="entries", verbose_name=_("advisory")
    )
    vulnerability = models.ForeignKey(
        Vulnerability,
        on_delete=models.CASCADE,
        related_name="advisory_entries",
        verbose_name=_("vulnerability"),
    )
    title = models.CharField(_("title"), max_length=500, blank=True)
    cvss3_score = models.DecimalField(
        _("CVSS v3 base score"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    cvss3_vector = models.CharField(_("CVSS v3 vector"), max_length=100, blank=True)
    cwe = models.CharField(_("CWE"), max_length=20, blank=True)
    #: CSAF remediations as given: [{category, details, url, product_ids}]
    remediations = models.JSONField(_("remediations"), default=list, blank=True)

    class Meta:
        verbose_name = _("advisory vulnerability")
        verbose_name_plural = _("advisory vulnerabilities")
        constraints = [
            models.UniqueConstraint(
                fields=["advisory", "vulnerability"], name="vulns_advisoryvuln_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.advisory_id}: {self.vulnerability_id}"


class AdvisoryProduct(models.Model):
    """A product an advisory names: a product tree leaf (CSAF) or an affected item (JVN).

    ``product_id`` is unique only within its advisory (every CISA file has ``CSAFPID-0001``).
    Products a CSAF relationship creates ("firmware X installed on Y") keep the two products
    they join in ``relates_to``/``component_of`` so the matcher can require both.
    """

    advisory = models.ForeignKey(
        Advisory, on_delete=models.CASCADE, related_name="products", verbose_name=_("advisory")
    )
    product_id = models.CharField(_("product ID"), max_length=200)
    name = models.CharField(_("full name"), max_length=500)
    vendor = models.CharField(_("vendor"), max_length=200, blank=True)
    product = models.CharField(_("product"), max_length=300, blank=True)
    family = models.CharField(_("product family"), max_length=300, blank=True)
    #: a version, a range (``vers:`` or the free text CISA and JVN write) or blank
    version = models.CharField(_("version"), max_length=300, blank=True)
    version_is_range = models.BooleanField(_("version is a range"), default=False)
    cpe = models.CharField(_("CPE"), max_length=400, blank=True, db_index=True)
    purl = models.CharField(_("package URL"), max_length=500, blank=True)
    #: the other identification helpers: model_numbers, serial_numbers, skus, sbom_urls,
    #: hashes, x_generic_uris (as the document gives them)
    helpers = models.JSONField(_("identification helpers"), default=dict, blank=True)
    relationship = models.CharField(_("relationship"), max_length=40, blank=True)
    component_of = models.CharField(_("component"), max_length=200, blank=True)
    relates_to = models.CharField(_("relates to"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("advisory product")
        verbose_name_plural = _("advisory products")
        constraints = [
            models.UniqueConstraint(
                fields=["advisory", "product_id"], name="vulns_advisoryproduct_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ProductStatus(models.Model):
    """What an advisory says about one product for one vulnerability, with the VEX reason."""

    entry = models.ForeignKey(
        AdvisoryVulnerability,
        on_delete=models.CASCADE,
        related_name="statuses",
        verbose_name=_("advisory vulnerability"),
    )
    product = models.ForeignKey(
        AdvisoryProduct,
        on_delete=models.CASCADE,
        related_name="statuses",
        verbose_name=_("product"),
    )
    status = models.CharField(_("status"), max_length=20, choices=StatusKind.choices)
    #: a CSAF flag label (VEX justification such as ``component_not_present``)
    justification = models.CharField(_("justification"), max_length=60, blank=True)
    #: the details of a ``threats`` item of category ``impact`` for this product
    impact = models.TextField(_("impact statement"), blank=True)

    class Meta:
        verbose_name = _("product status")
        verbose_name_plural = _("product statuses")
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.product_id} {self.status}"


class NvdConfigurations(models.Model):
    """NVD's applicability statement of one vulnerability: its ``configurations``, compact.

    One row per NVD record that has configurations, replaced as a whole when NVD changes the
    record (NVD re-issues the configurations whole). ``data`` is NVD's own ``configurations``
    JSON less what the matcher does not read (match ids) and mostly less default values (an
    absent ``operator`` is OR, ``negate`` false, ``vulnerable`` true), compact::

        [{"operator": "AND", "nodes": [{"operator": "OR", "cpeMatch": [{"criteria":
            "cpe:2.3:o:...", "versionEndExcluding": "2.1"}]}, {"operator": "OR", "cpeMatch":
            [{"criteria": "cpe:2.3:h:...", "vulnerable": false}]}]}]

    A configuration is true when its nodes combine true under its operator, a node when its
    entries do; ``vulnerable`` false entries are the platform ("running on hardware Y").
    Entries that are not CPE 2.3 names, and nodes left empty, are not stored.
    :func:`medshield.matching.loaders.stored_nvd_configurations` turns it into the engine's
    rules.

    Why not one row per ``cpeMatch`` entry, as before: NVD holds about 1.6 million of them, and
    writing (and indexing) that many rows was most of a full NVD import's time. The matcher
    never queries single entries: it finds candidates through :class:`CpeKey` and then needs a
    record's whole configurations anyway. Keeping NVD's shape means the importer stores the
    configurations as they were decoded, without rebuilding them entry by entry.
    """

    vulnerability = models.OneToOneField(
        Vulnerability,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="nvd_configurations",
        verbose_name=_("vulnerability"),
    )
    data = models.TextField(_("configurations (JSON)"))

    class Meta:
        verbose_name = _("NVD configurations")
        verbose_name_plural = _("NVD configurations")

    def __str__(self) -> str:
        return str(self.vulnerability_id)


class CpeKey(models.Model):
    """A vendor/product an NVD record's vulnerable ``cpeMatch`` entries name, as a number.

    ``key`` is :func:`medshield.matching.names.name_hash` of the CPE's vendor and product after
    normalisation: a stable 63-bit hash, so the candidate lookup of a match run is one indexed
    ``key IN (...)`` query and the index holds integers, not names. One row per distinct pair
    of a record (a record lists many ranges of the same product), about a third as many rows as
    ``cpeMatch`` entries. A hash collision only adds a candidate, which the matcher then rejects
    on the real names. Replaced with the record's configurations, so rows with new ids mark the
    records a feed import changed (see :func:`medshield.findings.service.pending`).
    """

    vulnerability = models.ForeignKey(
        Vulnerability,
        on_delete=models.CASCADE,
        related_name="cpe_keys",
        verbose_name=_("vulnerability"),
    )
    key = models.BigIntegerField(_("vendor/product key"), db_index=True)

    class Meta:
        verbose_name = _("CPE name key")
        verbose_name_plural = _("CPE name keys")

    def __str__(self) -> str:
        return f"{self.vulnerability_id}: {self.key}"


class FeedImport(models.Model):
    """One file imported by ``feeds import`` or the web page: what, when, by whom, how much.

    Refused files leave no row: a refusal stores nothing of the file, this record included;
    the command and the page report the reason instead.
    """

    kind = models.CharField(_("source"), max_length=8, choices=FeedKind.choices, db_index=True)
    file_name = models.CharField(_("file name"), max_length=300)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.BigIntegerField(_("size (bytes)"), default=0)
    started = models.DateTimeField(_("started"))
    finished = models.DateTimeField(_("finished"))
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    #: records of the file skipped with a reason (rejected CVEs, an unusable row); the file
    #: itself was imported
    refused = models.PositiveIntegerField(_("skipped"), default=0)
    notes = models.TextField(_("notes"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    user_name = models.CharField(_("user name"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("feed import")
        verbose_name_plural = _("feed imports")
        ordering = ["-finished", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name}"
