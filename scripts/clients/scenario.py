"""A short day of the time bank, spoken through the Python client generated
from openapi.yaml; every request and every raw response is checked against
openapi.yaml with openapi-core. Run by scripts/clients/run:

    python scenario.py SPEC BASE_URL ADMIN_PHONE ADMIN_PASSWORD

Exits 1 on any mismatch with the spec or any unexpected answer.
"""

import datetime
import sys
import traceback
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from timebank_client import AuthenticatedClient, Client
from timebank_client.api.auth import get_me, login
from timebank_client.api.earning import approve_case_award, file_case_award, publish_case_rule
from timebank_client.api.ledger import get_volunteer_balance, verify_ledger
from timebank_client.api.operations import get_health, get_readiness
from timebank_client.api.orgs import create_org
from timebank_client.api.services import (
    accept_service_request,
    approve_resident,
    complete_service_request,
    create_service_request,
    dispatch_service_request,
    get_my_balance,
    list_org_needs,
    list_org_resources,
    rate_service_request,
    register_resident,
)
from timebank_client.api.spending import (
    cancel_redemption,
    change_stock,
    create_catalog_item,
    create_site,
    get_redemption,
    grant_site_operator,
    list_catalog,
    place_redemption,
)
from timebank_client.api.volunteers import approve_volunteer, register_volunteer
from timebank_client.models import (
    ChangeStockBody,
    CompleteServiceRequestBody,
    CreateCatalogItemBody,
    CreateOrgBody,
    CreateServiceRequestBody,
    CreateServiceRequestBodyPayment,
    CreateSiteBody,
    DispatchServiceRequestBody,
    FileCaseAwardBody,
    GrantSiteOperatorBody,
    LoginBody,
    OrgKind,
    PlaceRedemptionBody,
    PublishCaseRuleBody,
    RateServiceRequestBody,
    RegisterResidentBody,
    RegisterVolunteerBody,
)
from timebank_client.types import UNSET
from werkzeug.datastructures import Headers, ImmutableMultiDict

PASSWORD = "scenario-pass-2026"


class SpecRequest:
    """An httpx request as openapi-core reads one."""

    def __init__(self, request: httpx.Request):
        self.request = request
        url = urlsplit(str(request.url))
        self.host_url = f"{url.scheme}://{url.netloc}"
        self.path = url.path
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(url.query)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )

    @property
    def method(self) -> str:
        return self.request.method.lower()

    @property
    def body(self):
        return self.request.content or None

    @property
    def content_type(self) -> str:
        return self.request.headers.get("content-type", "")


class SpecResponse:
    """An httpx response as openapi-core reads one."""

    def __init__(self, response: httpx.Response):
        self.response = response

    @property
    def data(self) -> bytes:
        return self.response.content

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def content_type(self) -> str:
        return self.response.headers.get("content-type", "")

    @property
    def headers(self) -> Headers:
        return Headers(dict(self.response.headers))


def describe(err: BaseException) -> str:
    """An openapi-core error, with the schema errors found under it."""
    lines = [f"{type(err).__name__}: {str(err)[:300]}"]
    seen = set()
    cause = err
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        for schema_error in getattr(cause, "schema_errors", None) or []:
            where = "/".join(str(p) for p in schema_error.absolute_path) or "(root)"
            lines.append(f"    at {where}: {schema_error.message[:300]}")
        cause = cause.__cause__ or cause.__context__
    return "\n".join(lines)


class Checker:
    """Checks each exchange against the spec as httpx hands it over."""

    def __init__(self, spec_path: str):
        self.openapi = OpenAPI.from_file_path(spec_path)
        self.checked = 0
        self.mismatches: list[str] = []

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        name = f"{request.method} {request.url.path} -> {response.status_code}"
        problems = []
        try:
            self.openapi.validate_request(SpecRequest(request))
        except Exception as err:  # every openapi-core refusal is a finding
            problems.append("request: " + describe(err))
        try:
            self.openapi.validate_response(SpecRequest(request), SpecResponse(response))
        except Exception as err:
            problems.append("response: " + describe(err))
        self.checked += 1
        if problems:
            body = response.content[:600].decode("utf-8", "replace")
            report = f"{name}\n  " + "\n  ".join(problems) + f"\n  body: {body}"
            self.mismatches.append(report)
            print(f"MISMATCH {report}", flush=True)
        else:
            print(f"  ok  {name}", flush=True)

    def httpx_args(self) -> dict:
        return {"event_hooks": {"response": [self.on_response]}}


class Unexpected(Exception):
    pass


def call(op, status: int, **kwargs):
    """Calls a generated operation; the answer must have `status`."""
    response = op.sync_detailed(**kwargs)
    if response.status_code != status:
        raise Unexpected(
            f"{op.__name__.rsplit('.', 1)[-1]}: wanted {status}, got {int(response.status_code)}: "
            + response.content[:600].decode("utf-8", "replace")
        )
    return response


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Unexpected(message)


def scenario(base_url: str, admin_phone: str, admin_password: str, checker: Checker) -> None:
    hooks = checker.httpx_args()
    anyone = Client(base_url=base_url, httpx_args=hooks)

    def signed_in(phone: str, password: str) -> AuthenticatedClient:
        tokens = call(login, 200, client=anyone, body=LoginBody(phone=phone, password=password)).parsed
        return AuthenticatedClient(base_url=base_url, token=tokens.access_token, httpx_args=hooks)

    print("operations")
    call(get_health, 200, client=anyone)
    call(get_readiness, 200, client=anyone)

    print("the admin signs in and builds a district down to a community")
    admin = signed_in(admin_phone, admin_password)
    me = call(get_me, 200, client=admin).parsed
    root = me.scopes[0].org_id
    expect(isinstance(root, str), f"the admin has no org scope: {me.to_dict()}")

    def org(name: str, kind: OrgKind, parent: str) -> str:
        body = CreateOrgBody(name=name, kind=kind, parent_id=parent)
        return call(create_org, 201, client=admin, body=body).parsed.id

    district = org("客户区", OrgKind.DISTRICT, root)
    street = org("客户街道", OrgKind.STREET, district)
    community = org("客户社区", OrgKind.COMMUNITY, street)

    print("a volunteer registers; the admin approves the registration")
    volunteer_phone = "13900000001"
    registered = call(
        register_volunteer,
        201,
        client=anyone,
        body=RegisterVolunteerBody(
            name="李志愿", phone=volunteer_phone, password=PASSWORD, community_id=community, skills=["维修"]
        ),
    ).parsed
    volunteer_id = registered.id
    approved = call(approve_volunteer, 200, client=admin, id=volunteer_id).parsed
    expect(approved.status == "active", f"approved volunteer is {approved.status}")

    print("points: a case rule, an award for the volunteer, the admin approves it")
    now = datetime.datetime.now(datetime.timezone.utc)
    rule = PublishCaseRuleBody(
        code="client_check",
        name="邻里互助",
        points="30.00",
        hours="2.00",
        org_id=district,
        effective_from=now - datetime.timedelta(days=2),
    )
    call(publish_case_rule, 201, client=admin, body=rule)
    occurred = now - datetime.timedelta(hours=1)
    award = call(
        file_case_award,
        201,
        client=admin,
        body=FileCaseAwardBody(volunteer_id=volunteer_id, rule_code="client_check", occurred_at=occurred),
    ).parsed
    call(approve_case_award, 200, client=admin, id=award.id, idempotency_key=f"award-{uuid.uuid4()}")

    print("a site with an operator (granted twice: 201, then 200) and stock")
    site = call(
        create_site, 201, client=admin, body=CreateSiteBody(org_id=community, name="客户兑换点", address="一号")
    ).parsed.id
    operator = call(
        register_volunteer,
        201,
        client=anyone,
        body=RegisterVolunteerBody(name="王站长", phone="13900000002", password=PASSWORD, community_id=community),
    ).parsed.id
    first = call(grant_site_operator, 201, client=admin, id=site, body=GrantSiteOperatorBody(user_id=operator))
    again = call(grant_site_operator, 200, client=admin, id=site, body=GrantSiteOperatorBody(user_id=operator))
    expect(first.parsed.granted is True and again.parsed.granted is False, "granted should be true, then false")
    item = call(
        create_catalog_item,
        201,
        client=admin,
        body=CreateCatalogItemBody(org_id=district, name="大米", points_price="10.00"),
    ).parsed.id
    call(change_stock, 200, client=admin, id=site, body=ChangeStockBody(item_id=item, delta=5, reason="入库"))

    print("the volunteer signs in, sees their wallet and the catalog")
    volunteer = signed_in(volunteer_phone, PASSWORD)
    mine = call(get_me, 200, client=volunteer).parsed
    expect(mine.volunteer is not None and mine.volunteer is not UNSET, "GET /me has no volunteer record")
    expect(mine.resident is None, f"a volunteer only, yet resident is {mine.resident!r}")
    wallet = call(get_my_balance, 200, client=volunteer).parsed
    expect(wallet.points == "30.00", f"points after the award: {wallet.points}")
    print(f"  GET /me volunteer: {mine.volunteer.to_dict()}; GET /me/balance: {wallet.to_dict()}")
    call(get_volunteer_balance, 200, client=volunteer, id=volunteer_id)
    offered = call(list_catalog, 200, client=volunteer, site_id=site).parsed
    expect(any(i.id == item for i in offered.items), "the item is not offered at the site")

    print("the volunteer orders with an Idempotency-Key, then sends the same order again")
    key = f"order-{uuid.uuid4()}"
    order_body = PlaceRedemptionBody(item_id=item, site_id=site, quantity=1)
    placed = call(place_redemption, 201, client=volunteer, body=order_body, idempotency_key=key)
    expect("idempotent-replayed" not in placed.headers, "a first answer marked as replayed")
    replayed = call(place_redemption, 201, client=volunteer, body=order_body, idempotency_key=key)
    expect(
        replayed.headers.get("idempotent-replayed") == "true",
        f"Idempotent-Replayed on the replay: {replayed.headers.get('idempotent-replayed')!r}",
    )
    expect(replayed.parsed.id == placed.parsed.id, "the replay answered another order")
    expect(placed.headers.get("x-request-id"), "no X-Request-Id")
    print(f"  order {placed.parsed.id} placed once, replayed with Idempotent-Replayed: true")
    order = call(get_redemption, 200, client=volunteer, id=placed.parsed.id).parsed
    expect(order.status == "reserved", f"order is {order.status}")
    wallet = call(get_my_balance, 200, client=volunteer).parsed
    expect(wallet.points == "20.00", f"points after one order (the replay must not debit): {wallet.points}")

    print("a resident registers; the admin approves; a service request runs to its rating")
    resident_phone = "13900000003"
    resident_id = call(
        register_resident,
        201,
        client=anyone,
        body=RegisterResidentBody(name="张居民", phone=resident_phone, password=PASSWORD, community_id=community),
    ).parsed.id
    call(approve_resident, 200, client=admin, id=resident_id)
    resident = signed_in(resident_phone, PASSWORD)
    them = call(get_me, 200, client=resident).parsed
    expect(them.resident is not None and them.resident is not UNSET, "GET /me has no resident record")
    purse = call(get_my_balance, 200, client=resident).parsed
    print(f"  GET /me resident: {them.resident.to_dict()}; GET /me/balance: {purse.to_dict()}")
    request = call(
        create_service_request,
        201,
        client=resident,
        body=CreateServiceRequestBody(
            community_id=community,
            category="维修",
            description="修水龙头",
            wanted_at=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1),
            payment=CreateServiceRequestBodyPayment.PLATFORM,
        ),
    ).parsed.id
    call(list_org_needs, 200, client=admin, id=district)
    call(
        dispatch_service_request,
        200,
        client=admin,
        id=request,
        body=DispatchServiceRequestBody(volunteer_id=volunteer_id),
    )
    call(accept_service_request, 200, client=volunteer, id=request, idempotency_key=f"accept-{uuid.uuid4()}")
    done = call(
        complete_service_request, 200, client=volunteer, id=request, body=CompleteServiceRequestBody(hours="1.00")
    ).parsed
    expect(done.completed_at is not None, "a completed request without completed_at")
    rated = call(
        rate_service_request,
        200,
        client=resident,
        id=request,
        body=RateServiceRequestBody(stars=5, comment="很好"),
        idempotency_key=f"rate-{uuid.uuid4()}",
    ).parsed
    print(f"  request {request}: {rated.status}, {rated.settled_points} points")

    print("the dashboard's lists, a cancelled order, a bad token, a clean ledger")
    call(list_org_resources, 200, client=admin, id=district)
    cancelled = call(cancel_redemption, 200, client=volunteer, id=order.id, idempotency_key=f"cancel-{uuid.uuid4()}")
    expect(cancelled.parsed.status == "cancelled", f"order is {cancelled.parsed.status}")
    forged = AuthenticatedClient(base_url=base_url, token="not-a-token", httpx_args=hooks)
    refused = call(get_me, 401, client=forged).parsed
    expect(refused.error.code == "invalid_token", f"a forged token is {refused.error.code}")
    report = call(verify_ledger, 200, client=admin).parsed
    expect(report.ok, f"ledger verify: {report.to_dict()}")


def main() -> int:
    spec, base_url, admin_phone, admin_password = sys.argv[1:5]
    checker = Checker(spec)
    failed = False
    try:
        scenario(base_url, admin_phone, admin_password, checker)
    except Unexpected as err:
        print(f"FAIL: {err}", file=sys.stderr)
        failed = True
    except Exception:  # the generated client could not read an answer, or a bug here
        traceback.print_exc()
        failed = True
    print(f"{checker.checked} exchanges checked against openapi.yaml, {len(checker.mismatches)} mismatched")
    for report in checker.mismatches:
        print(f"MISMATCH {report}", file=sys.stderr)
    return 1 if failed or checker.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
