"""Messages create / fetch / list as Twilio answers them: resources, validation errors, auth, paging."""

from datetime import UTC, datetime, timedelta

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from notifier.simulator.state import segments

from .conftest import assert_twilio_error

FROM = "+15017122661"


def test_create_answers_201_with_a_queued_message_resource(sim, api):
    response = api.create(To="+8613800138000", Body="【某县人大常委会】明天上午九点开会。")
    assert response.status_code == 201
    message = response.json()
    assert message["sid"].startswith("SM") and len(message["sid"]) == 34
    assert message["status"] == "queued"
    assert message["to"] == "+8613800138000" and message["from"] == FROM
    assert message["account_sid"] == sim.account_sid
    assert message["num_segments"] == "1" and message["direction"] == "outbound-api"
    assert (
        message["uri"] == f"/2010-04-01/Accounts/{sim.account_sid}/Messages/{message['sid']}.json"
    )
    assert message["date_created"].endswith("+0000")
    assert sim.accepted[0]["sid"] == message["sid"]


def test_twilio_client_round_trip(twilio):
    created = twilio.messages.create(to="+8613800138000", from_=FROM, body="x" * 161)
    assert created.status == "queued" and created.num_segments == "2"
    fetched = twilio.messages(created.sid).fetch()
    assert (fetched.sid, fetched.body, fetched.to) == (created.sid, created.body, created.to)


@pytest.mark.parametrize(
    "body, expected",
    [
        ("a" * 160, (1, "GSM-7")),
        ("a" * 161, (2, "GSM-7")),
        ("a" * 306, (2, "GSM-7")),
        ("a" * 307, (3, "GSM-7")),
        ("{" * 80, (1, "GSM-7")),  # extension characters take two septets
        ("{" * 81, (2, "GSM-7")),
        ("中" * 70, (1, "UCS-2")),
        ("中" * 71, (2, "UCS-2")),
        ("中" * 134, (2, "UCS-2")),
        ("中" * 135, (3, "UCS-2")),
        ("a" * 69 + "中", (1, "UCS-2")),
        ("👍" * 35, (1, "UCS-2")),  # two UTF-16 units each
        ("👍" * 36, (2, "UCS-2")),
    ],
)
def test_segments(body, expected):
    assert segments(body) == expected


@pytest.mark.parametrize(
    "form, code",
    [
        ({"Body": "hi"}, 21604),
        ({"To": "+8613800138000"}, 21602),
        ({"To": "+8613800138000", "Body": ""}, 21602),
        ({"To": "13800138000", "Body": "hi"}, 21211),
        ({"To": "+0123456", "Body": "hi"}, 21211),
        ({"To": "+86 138 0013 8000", "Body": "hi"}, 21211),
        ({"To": "+8613800138000", "Body": "x" * 1601}, 21617),
        ({"To": "+8613800138000", "Body": "hi", "ValidityPeriod": "0"}, 21624),
        ({"To": "+8613800138000", "Body": "hi", "ValidityPeriod": "36001"}, 21624),
        ({"To": "+8613800138000", "Body": "hi", "ValidityPeriod": "soon"}, 21624),
        ({"To": "+8613800138000", "Body": "hi", "StatusCallback": "not a url"}, 21609),
        ({"To": "+8613800138000", "Body": "hi", "From": "+1-bad"}, 21212),
        ({"To": "+8613800138000", "Body": "hi", "From": ""}, 21603),
        ({"To": "+8613800138000", "Body": "hi", "From": "", "MessagingServiceSid": "MG123"}, 21701),
    ],
)
def test_create_validation_errors(sim, api, form, code):
    response = api.create(**form)
    assert_twilio_error(response, 400, code)
    assert sim.accepted == []


def test_validity_period_in_range_is_accepted(api):
    assert api.create(To="+8613800138000", Body="hi", ValidityPeriod="36000").status_code == 201


def test_messaging_service_message_is_accepted_with_a_pool_sender(sim, twilio):
    message = twilio.messages.create(
        to="+8613800138000", messaging_service_sid="MG" + "0" * 32, body="hi"
    )
    assert message.status == "accepted"
    assert message.messaging_service_sid == "MG" + "0" * 32
    assert message.from_ == sim.simulator.config.current.service_from


@pytest.mark.parametrize(
    "auth",
    [None, ("AC" + "0" * 32, "wrong-token"), ("AC" + "1" * 32, "simulator-auth-token"), ("", "")],
)
def test_wrong_credentials_get_401(sim, api, auth):
    response = api.session.post(
        api.messages_url,
        data={"To": "+8613800138000", "Body": "hi", "From": FROM},
        auth=auth,
        timeout=5,
    )
    assert_twilio_error(response, 401, 20003)
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert sim.accepted == []
    assert sim.stats()["auth_failures"] == 1


def test_url_of_another_account_gets_401(sim, api):
    other = f"{sim.url}/2010-04-01/Accounts/AC{'f' * 32}/Messages.json"
    assert_twilio_error(api.session.get(other, auth=api.auth, timeout=5), 401, 20003)


def test_twilio_client_with_a_wrong_token_raises_authenticate(sim):
    from twilio.rest import Client

    client = Client(sim.account_sid, "not-the-token")
    client.api.base_url = sim.url
    with pytest.raises(TwilioRestException) as failure:
        client.messages.create(to="+8613800138000", from_=FROM, body="hi")
    assert failure.value.status == 401 and failure.value.code == 20003
    with pytest.raises(TwilioException, match="401"):  # the client's list raises the base class
        client.messages.list(limit=1)


def test_fetch_unknown_message_is_404(sim, api):
    response = api.get(f"/2010-04-01/Accounts/{sim.account_sid}/Messages/SM{'0' * 32}.json")
    assert_twilio_error(response, 404, 20404)


def test_unknown_urls_and_methods_answer_twilio_json(sim, api):
    assert_twilio_error(api.get("/2010-04-01/Accounts/x/Calls.json"), 404, 20404)
    response = api.session.delete(api.messages_url, auth=api.auth, timeout=5)
    assert_twilio_error(response, 405, 20405)


def _send(api, to, body, sender=FROM):
    response = api.create(To=to, Body=body, From=sender)
    assert response.status_code == 201, response.text
    return response.json()["sid"]


def test_list_filters_by_to_and_from(sim, api, twilio):
    a1 = _send(api, "+8613800000001", "one")
    _send(api, "+8613800000002", "two")
    a3 = _send(api, "+8613800000001", "three", sender="+15017122662")
    assert [m.sid for m in twilio.messages.list(to="+8613800000001")] == [a3, a1]  # newest first
    assert [m.sid for m in twilio.messages.list(to="+8613800000001", from_=FROM)] == [a1]
    assert len(twilio.messages.list()) == 3
    assert twilio.messages.list(to="+8613899999999") == []


def test_list_filters_by_date_sent(sim, api, twilio):
    sid = _send(api, "+8613800000001", "dated")
    now = datetime.now(UTC)
    today, yesterday, tomorrow = (
        now.date(),
        now.date() - timedelta(days=1),
        now.date() + timedelta(days=1),
    )

    def sids(**params):
        response = api.get(api.messages_url, To="+8613800000001", **params)
        assert response.status_code == 200, response.text
        return [m["sid"] for m in response.json()["messages"]]

    assert sids(DateSent=today.isoformat()) == [sid]
    assert sids(DateSent=yesterday.isoformat()) == []
    assert sids(**{"DateSent>": yesterday.isoformat()}) == [sid]
    assert sids(**{"DateSent>": tomorrow.isoformat()}) == []
    assert sids(**{"DateSent<": today.isoformat()}) == [sid]  # the whole day, inclusive
    assert sids(**{"DateSent<": yesterday.isoformat()}) == []
    # Datetimes as the twilio client serialises them, at whole-second precision.
    assert [m.sid for m in twilio.messages.list(date_sent_after=now - timedelta(seconds=5))] == [
        sid
    ]
    assert twilio.messages.list(date_sent_after=now + timedelta(seconds=5)) == []
    assert [m.sid for m in twilio.messages.list(date_sent_before=now + timedelta(seconds=5))] == [
        sid
    ]
    assert twilio.messages.list(date_sent_before=now - timedelta(seconds=5)) == []
    assert sids(**{"DateSent>": "Wed, 19 Jun 2019 22:04:00 -0000"}) == [sid]


def test_list_pages_with_next_and_previous_uris(sim, api, twilio):
    sent = [_send(api, "+8613800000001", f"n{i}") for i in range(7)]
    newest_first = list(reversed(sent))

    first = api.get(api.messages_url, PageSize=3).json()
    assert [m["sid"] for m in first["messages"]] == newest_first[:3]
    assert (first["page"], first["page_size"], first["start"], first["end"]) == (0, 3, 0, 2)
    assert first["previous_page_uri"] is None

    # New messages arriving meanwhile do not shift the following pages.
    _send(api, "+8613800000001", "late")
    second = api.get(first["next_page_uri"]).json()
    assert [m["sid"] for m in second["messages"]] == newest_first[3:6]
    assert second["page"] == 1 and second["start"] == 3
    third = api.get(second["next_page_uri"]).json()
    assert [m["sid"] for m in third["messages"]] == newest_first[6:]
    assert third["next_page_uri"] is None

    back = api.get(third["previous_page_uri"]).json()
    assert [m["sid"] for m in back["messages"]] == newest_first[3:6]

    assert len(twilio.messages.list(page_size=2)) == 8


@pytest.mark.parametrize(
    "params",
    [
        {"PageSize": "0"},
        {"PageSize": "1001"},
        {"PageSize": "many"},
        {"Page": "-1"},
        {"PageToken": "PAnope"},
        {"DateSent": "yesterday"},
        {"DateSent>": "2024-13-45"},
    ],
)
def test_list_bad_parameters_are_400(sim, api, params):
    assert_twilio_error(api.get(api.messages_url, **params), 400, 20001)
