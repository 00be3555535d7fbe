"""Reply fixtures: deputies, notices really sent (dispatched in-process; no worker needed for the
rows), and signed inbound webhook posts."""
import itertools

import pytest
from twilio.request_validator import RequestValidator

from notifier.extensions import db
from notifier.notices import workflow
from notifier.notices.dispatch import dispatch_notice
from tests.delivery.conftest import dctx, delivery_app, live_url, sim, sim_process, workers  # noqa: F401
from tests.notices.conftest import add_deputies, make_user, notice_data, user  # noqa: F401

AUTH_TOKEN = "inbound-test-token"
PLATFORM_NUMBER = "+15005550006"
_sids = itertools.count(1)


@pytest.fixture
def signed_app(app):
    saved = {k: app.config.get(k) for k in ("TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL")}
    app.config.update(TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL="http://localhost")
    yield app
    app.config.update(saved)


def new_sid():
    return f"SM{next(_sids):032x}"


def signed_post(client, fields, token=AUTH_TOKEN, url="http://localhost/webhooks/twilio/inbound", signature=None):
    signature = signature if signature is not None else RequestValidator(token).compute_signature(url, fields)
    return client.post("/webhooks/twilio/inbound", data=fields, headers={"X-Twilio-Signature": signature})


@pytest.fixture
def text_in(client, signed_app):
    """text_in(from_, body, sid=None) posts a signed inbound SMS; returns the response."""

    def post(from_, body, sid=None, **extra):
        fields = {"MessageSid": sid or new_sid(), "SmsSid": sid or "", "AccountSid": "AC" + "0" * 32,
                  "From": from_, "To": PLATFORM_NUMBER, "Body": body, "NumMedia": "0", "NumSegments": "1",
                  "ApiVersion": "2010-04-01", **extra}
        fields["SmsSid"] = fields["MessageSid"]
        return signed_post(client, fields)

    return post


@pytest.fixture
def staff(make_user):  # noqa: F811
    return {"composer": make_user("composer"), "approver": make_user("approver"), "viewer": make_user("viewer"),
            "admin": make_user("admin")}


def send_notice(staff, **overrides):
    """A notice created, submitted, approved and dispatched (message rows written and queued)."""
    notice = workflow.create_notice(notice_data(**overrides), user(staff["composer"]))
    workflow.submit(notice, user(staff["composer"]))
    workflow.approve(notice, user(staff["approver"]))
    dispatch_notice(notice.id)
    db.session.expire_all()
    return db.session.get(type(notice), notice.id)
