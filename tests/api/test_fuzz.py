"""Random bodies against POST and PATCH: whatever a client sends, the answer is never a 5xx.

With TESTING on, an unhandled exception propagates out of the test client, so a crash fails the
test with its traceback (and hypothesis shrinks the body that caused it).
"""
import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import assert_error

URL = "/api/v1/deputies"
FIELDS = ["name", "phone", "levels", "constituency", "organisation", "title", "tags", "active", "opted_out", "reason"]
ODD_TEXT = ["", " ", "\x00", "a\x00b", "\ud800", "\u200b", "全国人大代表", "省/市", "1.38001380001E+10", "x" * 300,
            "%", "_", "'; DROP TABLE deputies; --", "١٣٨٠٠١٣٨٠٠٠", "+86 138 0013 8000", "0086-13800138000"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=80)
    | st.sampled_from(ODD_TEXT)
)
values = st.recursive(
    scalars, lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)
plausible = {
    "phone": st.from_regex(r"\A(\+86|0086)?[ -]?1[3-9]\d{9}\Z") | st.text(alphabet="0123456789+- ()", max_size=20),
    "levels": st.lists(st.sampled_from(["national", "county", "省级", "县人大代表", "乡", "", "全国、市"]), max_size=4),
    "tags": st.lists(st.text(max_size=70), max_size=4),
    "name": st.text(min_size=1, max_size=70),
    "active": st.booleans(),
    "opted_out": st.booleans(),
}
bodies = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=8),
    values,
    max_size=8,
) | st.fixed_dictionaries({}, optional={key: strategy | values for key, strategy in plausible.items()})
raw = st.one_of(
    bodies.map(lambda body: (json.dumps(body), "application/json")),
    values.map(lambda value: (json.dumps(value), "application/json")),
    st.binary(max_size=200).map(lambda data: (data, "application/json")),
    st.tuples(st.text(max_size=100), st.sampled_from(["text/plain", "application/x-www-form-urlencoded", ""])),
)
FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,  # no .hypothesis folder in the project
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check(response):
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert_error(response, response.status_code)
    else:
        body = response.get_json()
        assert body["phone"].startswith("+") and body["name"].strip()


@FUZZ
@given(body=raw)
def test_post_never_fails_with_5xx(api, body):
    data, content_type = body
    check(api.post(URL, data=data, headers={"Content-Type": content_type} if content_type else {}))


@pytest.fixture
def deputy_id(api):
    return api.post(URL, json={"name": "王芳", "phone": "13800138000"}).get_json()["id"]


@settings(FUZZ, max_examples=250)
@given(body=raw)
def test_patch_never_fails_with_5xx(api, deputy_id, body):
    data, content_type = body
    check(api.patch(f"{URL}/{deputy_id}", data=data, headers={"Content-Type": content_type} if content_type else {}))


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.dictionaries(st.sampled_from(["q", "level", "tag", "active", "opted_out", "limit", "cursor", "x"]),
                             st.text(max_size=30) | st.sampled_from(ODD_TEXT), max_size=5))
def test_list_query_never_fails_with_5xx(api, query):
    # As bytes on the wire: a lone surrogate becomes invalid UTF-8 (%ED%A0%80), as a client could send.
    response = api.get(URL + "?" + urlencode(query, encoding="utf-8", errors="surrogatepass"))
    assert response.status_code < 500
    if response.status_code != 200:
        assert_error(response, response.status_code)

