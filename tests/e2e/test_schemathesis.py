"""Schemathesis against the live OpenAPI document of a real server, once as a pro and once as an
account: every documented operation gets schema-valid requests (the responses must conform to the
document: status, content type, body schema) and schema-invalid ones (no 5xx, whatever they carry).

The group in every path is the caller's own group, and a member path addresses a record of it where
one exists, so the requests reach the handlers rather than stopping at a 404. Bounded: a fixed number
of examples per operation and mode, no shrinking, no example database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .booking_helpers import Shop, build_shop, register
from .conftest import RunningServer, basic_header

EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 2}  # ~35 s per caller: generating costs most
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Report:
    operations: int = 0
    cases: int = 0
    server_errors: list[str] = field(default_factory=list)
    nonconforming: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # each kind of nonconformity → its first example


@dataclass(frozen=True)
class Principal:
    name: str
    headers: dict[str, str]
    group_id: int
    record_ids: dict[str, int]  # a record of the caller's group per collection


@pytest.fixture(scope="module")
def shop(server: RunningServer) -> Shop:
    return build_shop(server)


@pytest.fixture(scope="module")
def schema(server: RunningServer) -> Any:
    """The live document, loaded as Schemathesis loads it: a document it cannot load fails here, with
    its reason."""
    return schemathesis.openapi.from_url(server.api + "/openapi.json", timeout=30)


def principals(server: RunningServer, shop: Shop) -> list[Principal]:
    customer = register(server, shop.group_id)
    with shop.pro() as client:
        fiche = shop.new_fiche()
        response = client.get(f"/groups/{shop.group_id}/vevents", params={"results": 1})
        vevent = response.json()["records"][0]["id"]
    ids = {
        "groups": shop.group_id,
        "pros": shop.tenant.pro_id,
        "calendars": shop.calendar_id,
        "interventions": shop.intervention_id,
        "interventionsets": shop.interventionset_id,
        "fiches": int(fiche["id"]),
        "vevents": int(vevent),
        "accounts": customer.id,
    }
    return [
        Principal("pro", {"Authorization": basic_header(shop.tenant.email, shop.tenant.password)}, shop.group_id, ids),
        Principal("account", {"Authorization": basic_header(customer.email, customer.password)}, shop.group_id, ids),
    ]


def aim(case: Case[Any], principal: Principal, mode: GenerationMode, apikey: str) -> None:
    """The caller's group and records in the path (a generated id would only meet 404s), the API key
    in the query, and JSON responses for the schema-valid cases (the document describes JSON only)."""
    path = case.path_parameters
    if path is not None and "group_id" in path:
        path["group_id"] = principal.group_id
    if path is not None and "id" in path:
        collection = case.operation.path.rstrip("/").split("/")[-2]
        if collection in principal.record_ids:
            path["id"] = principal.record_ids[collection]
    query = case.query if case.query is not None else {}
    query["apikey"] = apikey
    if mode is GenerationMode.POSITIVE:
        query.pop("format", None)
    case.query = query


def exercise(schema: Any, server: RunningServer, principal: Principal, report: Report) -> None:
    with requests.Session() as session:  # one kept-alive connection: a new one per case doubled the time
        for result in schema.get_all_operations():
            operation = result.ok()  # an operation Schemathesis cannot read fails the test with its reason
            report.operations += 1
            for mode, examples in EXAMPLES.items():
                run_operation(operation, mode, examples, server, principal, report, session)


def run_operation(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    server: RunningServer,
    principal: Principal,
    report: Report,
    session: requests.Session,
) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def one(case: Case[Any]) -> None:
        aim(case, principal, mode, server.apikey)
        response = case.call(base_url=server.url, session=session, headers=principal.headers, timeout=30)
        report.cases += 1
        report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
        where = f"[{principal.name}, {mode.value}] {case.method} {case.formatted_path} {case.query}"
        if response.status_code >= 500:
            report.server_errors.append(
                f"{where} body={case.body!r:.300} → {response.status_code}: {response.text[:300]}"
            )
            return
        if mode is GenerationMode.POSITIVE:
            check(case, response, where, report)

    one()


def check(case: Case[Any], response: Any, where: str, report: Report) -> None:
    try:
        case.validate_response(response, checks=CONFORMANCE)
    except FailureGroup as failures:
        for failure in failures.exceptions:
            first = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "<datetime>", failure.message.splitlines()[0])
            kind = f"{failure.title}: {first[:300]}"
            report.kinds.setdefault(kind, f"{where} → {response.status_code}: {response.text[:300]}")
            report.nonconforming.append(f"{where} → {response.status_code}: {kind}")


def run_for(name: str) -> Callable[[Any, RunningServer, Shop], None]:
    def test(schema: Any, server: RunningServer, shop: Shop) -> None:
        principal = next(p for p in principals(server, shop) if p.name == name)
        report = Report()
        started = time.monotonic()
        exercise(schema, server, principal, report)
        print(
            f"\nschemathesis as {name}: {report.operations} operations, {report.cases} cases, "
            f"{len(report.server_errors)} 5xx, {len(report.nonconforming)} nonconforming, "
            f"{time.monotonic() - started:.1f} s, statuses {dict(sorted(report.statuses.items()))}"
        )
        assert report.operations > 40 and report.cases >= report.operations * 4, report
        assert not report.server_errors, "5xx:\n" + "\n".join(report.server_errors)
        assert not report.nonconforming, (
            f"{len(report.nonconforming)} responses to schema-valid requests do not conform to the document, "
            f"{len(report.kinds)} kinds:\n" + "\n".join(f"- {k}\n    e.g. {e}" for k, e in report.kinds.items())
        )

    return test


test_schemathesis_as_a_pro = run_for("pro")
test_schemathesis_as_an_account = run_for("account")
