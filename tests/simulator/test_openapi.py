"""The simulator speaks Twilio's published protocol: real requests from the official twilio client
and the simulator's answers validate against the Messages resource of Twilio's OpenAPI description."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.response.exceptions import DataValidationError
from twilio.http.http_client import TwilioHttpClient

from tests.conftest import reference_file

TWILIO_API = "https://api.twilio.com"  # the spec's server; the simulator stands in for it


@pytest.fixture(scope="module")
def spec():
    return OpenAPI.from_file_path(reference_file("twilio-messages-openapi.json"))


@pytest.fixture
def recorded(sim):
    """(twilio client, list of requests.Response) capturing every exchange on the wire."""
    exchanges = []
    http_client = TwilioHttpClient()
    http_client.session.hooks["response"].append(
        lambda response, *args, **kwargs: exchanges.append(response)
    )
    return sim.twilio_client(http_client=http_client), exchanges


def as_twilio(response, sim_url):
    """The exchange as if it had gone to api.twilio.com (only the host differs)."""
    prepared = response.request.copy()
    assert prepared.url.startswith(sim_url)
    prepared.url = TWILIO_API + prepared.url[len(sim_url) :]
    return RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(response)


def validate_all(spec, exchanges, sim_url):
    operations = []
    for response in exchanges:
        request, openapi_response = as_twilio(response, sim_url)
        spec.validate_request(request)
        spec.validate_response(request, openapi_response)
        operations.append((response.request.method, response.status_code))
    return operations


def test_create_fetch_and_list_validate_against_twilio_openapi(spec, sim, recorded, receiver):
    client, exchanges = recorded
    created = client.messages.create(
        to="+8613800138000",
        from_="+15017122661",
        body="【某县人大常委会】请于周五参加代表活动。回复1确认。",
        status_callback=f"{receiver.url}/webhooks/twilio/status?message_id=7",
        validity_period=3600,
    )
    client.messages.create(
        to="+8613800138000", messaging_service_sid="MG" + "ab" * 16, body="GSM text"
    )
    fetched = client.messages(created.sid).fetch()
    since = datetime.now(UTC) - timedelta(minutes=5)
    listed = list(client.messages.list(to="+8613800138000", date_sent_after=since, page_size=1))
    client.messages.list(from_="+15017122661", date_sent=datetime.now(UTC), limit=5)
    client.messages.list(date_sent_before=datetime.now(UTC) + timedelta(days=1), limit=5)

    operations = validate_all(spec, exchanges, sim.url)

    assert operations.count(("POST", 201)) == 2
    assert ("GET", 200) in operations
    # Two messages at one per page: the client followed next_page_uri.
    assert len([r for r in exchanges if "PageToken" in r.request.url]) >= 1
    assert fetched.sid == created.sid and fetched.body == created.body
    assert [m.sid for m in listed][1] == created.sid  # newest first


def test_fetch_after_delivery_validates(spec, sim, recorded):
    client, exchanges = recorded
    created = client.messages.create(to="+8613800138001", from_="+15017122661", body="hello")
    assert sim.wait_for_callbacks(5)
    fetched = client.messages(created.sid).fetch()
    assert fetched.status == "delivered" and fetched.price is not None
    validate_all(spec, exchanges, sim.url)


def test_the_validator_rejects_a_non_twilio_answer(spec, sim, recorded):
    """Control: the validation above is not vacuous."""
    client, exchanges = recorded
    client.messages.create(to="+8613800138002", from_="+15017122661", body="hello")
    good = exchanges[-1]
    bad = requests.Response()
    bad.status_code, bad.headers, bad.request = good.status_code, good.headers, good.request
    bad._content = good.content.replace(b'"sid": "SM', b'"sid": "XX').replace(
        b'"sid":"SM', b'"sid":"XX'
    )
    assert bad._content != good.content
    request, _ = as_twilio(good, sim.url)
    with pytest.raises(DataValidationError):
        spec.validate_response(request, RequestsOpenAPIResponse(bad))


def test_inbound_texts_are_listed_as_twilio_lists_them(spec, sim, recorded, receiver):
    """Texts phones sent to our number are in the Messages list (To = our number, direction
    inbound, status received), whether or not they were posted to the inbound webhook."""
    client, exchanges = recorded
    sim.configure(inbound_url=f"{receiver.url}/webhooks/twilio/inbound")
    ours = "+15017122661"
    posted = sim.receive_text("+8613800138000", ours, "1 收到")
    kept = sim.receive_text("+8613800138001", ours, "请假", post=False)
    client.messages.create(to="+8613800138000", from_=ours, body="an outbound text")  # not to our number
    since = datetime.now(UTC) - timedelta(minutes=5)
    listed = list(client.messages.list(to=ours, date_sent_after=since, page_size=1))

    validate_all(spec, exchanges, sim.url)
    assert [m.sid for m in listed] == [kept, posted]  # newest first, over two pages
    assert {(m.direction, m.status, m.to) for m in listed} == {("inbound", "received", ours)}
    assert [m.from_ for m in listed] == ["+8613800138001", "+8613800138000"]
    (post,) = receiver.wait_for(1)
    assert post["params"]["MessageSid"] == posted and post["params"]["Body"] == "1 收到"
    assert [m["to"] for m in sim.accepted] == ["+8613800138000"]  # the accepted log is what we sent
