"""schemathesis against /api/openapi.json: every operation, generated input, no server error.

The schema is loaded from the running application (WSGI, in the test's database transaction) with
an administrator's write token, and every operation is fed cases that fit the schema and cases
that do not. Half of the cases name an object that exists and carry its current ETag, so writes
get past 404 and 412 to the models' own validation, where most server errors would hide. Each
response is checked by schemathesis: no 5xx, a documented status, a body matching the schema.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from medshield.api.crud import Resource
from medshield.api.etag import etag_of, is_versioned
from medshield.api.readonly import RESOURCES as READ_ONLY
from medshield.api.register import RESOURCES as REGISTER
from medshield.sboms.models import Component, Sbom
from medshield.vulns.models import Advisory, Vulnerability
from tests.findings.conftest import store_finding

#: examples per operation and generation mode; ~100 operations make well over 500 cases (more
#: for a deeper hunt: MEDSHIELD_SCHEMATHESIS_EXAMPLES=50)
EXAMPLES = int(os.environ.get("MEDSHIELD_SCHEMATHESIS_EXAMPLES", "3"))
MIN_CASES = 500
#: operations run in this order, so objects are deleted only after the rest has used them
METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
BY_PATH = {f"/api/{r.path}/": r for r in (*REGISTER, *READ_ONLY)}


@pytest.fixture
def feeds(hospital) -> None:  # type: ignore[no-untyped-def]
    """One of each read-only kind, so their retrieve operations find something."""
    vuln = Vulnerability.objects.create(vuln_id="CVE-2024-0001", title="pump overflow", kev=True)
    store_finding(hospital.pump, vuln, reason="TE-LM800 2.1.0 is listed as affected")
    advisory = Advisory.objects.create(
        kind="csaf", advisory_id="ICSMA-24-001-01", title="Pumps", sha256="0" * 64
    )
    advisory.vulnerabilities.add(vuln)
    sbom = Sbom.objects.create(
        format="cyclonedx-json", spec_version="1.6", document_id="urn:uuid:1", sha256="1" * 64
    )
    Component.objects.create(sbom=sbom, name="openssl", version="3.0.0")


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """The WSGI application, serving inside the test's transaction.

    Django closes "old" database connections when a request starts and ends; the test client
    switches that off, and so must a test that calls the WSGI application itself, or the test's
    own connection (and its transaction) is closed under it.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _resource(path: str) -> Resource | None:
    base = path.split("{")[0]
    return BY_PATH.get(base)


def _existing_key(resource: Resource, admin: Any) -> Any:
    obj = resource.queryset(admin).order_by("pk").first()
    return getattr(obj, resource.lookup) if obj is not None else None


@dataclass
class Run:
    """What the cases of all operations did."""

    auth: dict[str, str]
    admin: Any
    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def exercise(self, operation: Any, mode: GenerationMode) -> None:
        """Run EXAMPLES cases of one operation in one mode; record what failed."""
        resource = _resource(operation.path)
        method = operation.method.upper()

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
        def run(case: Any, real: bool) -> None:
            key = _existing_key(resource, self.admin) if resource is not None else None
            excluded = []
            if real and key is not None and case.path_parameters:
                (name,) = case.path_parameters
                case.path_parameters[name] = key
                if method in {"PUT", "PATCH", "DELETE"} and is_versioned(resource.model):
                    # What a GET would answer (the test client is not used: each of its
                    # requests switches Django's connection closing back on, which would close
                    # the test's connection under the WSGI application).
                    current = etag_of(resource.find(self.admin, key))
                    case.headers = {**(case.headers or {}), "If-Match": current}
                if mode == GenerationMode.NEGATIVE:
                    # The invalid part may have been the path just replaced with a real one:
                    # every other check still applies, a server error above all.
                    excluded.append(negative_data_rejection)
            if method != "GET":
                # A body that fits the schema may still break the register's rules (a network
                # device without a role...): the model refuses it with 422.
                excluded.append(positive_data_acceptance)
            response = case.call_and_validate(headers=self.auth, excluded_checks=excluded)
            self.cases[operation.label] += 1
            self.statuses[response.status_code] += 1

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported by the test
            self.failures.append(f"{operation.label} ({mode.value}): {exc}")


def test_schemathesis_finds_no_server_error(api, admin, feeds, wsgi_app) -> None:  # type: ignore[no-untyped-def]
    auth = {"Authorization": f"Bearer {api.token}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", wsgi_app, headers=auth)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (METHOD_ORDER[op.method.upper()], op.path))
    result = Run(auth=auth, admin=admin)
    timings: dict[str, float] = {}
    for operation in operations:
        started = time.monotonic()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            result.exercise(operation, mode)
        timings[operation.label] = time.monotonic() - started

    assert not result.failures, "\n\n".join(result.failures)
    labels = {op.label for op in operations}
    assert labels == set(result.cases), f"never exercised: {labels - set(result.cases)}"
    total = sum(result.cases.values())
    slow = sorted(timings.items(), key=lambda item: -item[1])[:5]
    print("slowest:", ", ".join(f"{label} {seconds:.1f}s" for label, seconds in slow))
    print(f"schemathesis: {len(operations)} operations, {total} cases, {dict(result.statuses)}")
    assert total >= MIN_CASES
    # the realistic half reached the models: successes and validation refusals both happened
    statuses = result.statuses
    assert statuses[200] and statuses[201] and statuses[204] and statuses[422]
