"""The OpenAPI document is valid, complete, and real responses match it (openapi-core)."""
import io
import json
import re

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.exceptions import OpenAPIError
from openapi_spec_validator import validate
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from tests.api.conftest import csv_file

URL = "/api/v1/deputies"
OPERATIONS = {
    ("/api/v1/deputies", "get"),
    ("/api/v1/deputies", "post"),
    ("/api/v1/deputies/{deputy_id}", "get"),
    ("/api/v1/deputies/{deputy_id}", "patch"),
    ("/api/v1/deputies/import", "post"),
}


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_document_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_document_describes_every_operation(spec, app):
    documented = {(path, method) for path, item in spec["paths"].items() for method in item if method != "parameters"}
    assert OPERATIONS <= documented
    # Every API route of the app is documented (nothing added without its schema).
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and not rule.rule.endswith("openapi.json")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes <= documented, routes - documented


def test_security_and_error_responses_are_documented(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token.",
    }
    assert spec["security"] == [{"bearerAuth": []}]
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"message", "errors"}
    for path, method in OPERATIONS:
        responses = spec["paths"][path][method]["responses"]
        assert "401" in responses and "403" in responses and "default" in responses, (path, method)
        assert responses["401"]["$ref"] == "#/components/responses/UNAUTHORIZED"
    unauthorized = spec["components"]["responses"]["UNAUTHORIZED"]
    assert unauthorized["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"
    for path, method in [(URL, "post"), (URL + "/{deputy_id}", "patch")]:
        responses = spec["paths"][path][method]["responses"]
        assert {"400", "415", "422"} <= set(responses)
    assert "404" in spec["paths"][URL + "/{deputy_id}"]["get"]["responses"]
    body = spec["paths"][URL + "/import"]["post"]["requestBody"]["content"]
    assert body["multipart/form-data"]["schema"]["$ref"] == "#/components/schemas/ImportFile"
    deputy = spec["components"]["schemas"]["Deputy"]
    assert deputy["properties"]["levels"]["items"]["enum"] == ["national", "provincial", "municipal", "county"]
    assert deputy["properties"]["opted_out_at"]["nullable"] is True
    create = spec["components"]["schemas"]["DeputyCreate"]
    assert set(create["required"]) == {"name", "phone"}
    assert create["properties"]["name"]["maxLength"] == 64


def _bodiless(request):
    """The request as openapi-core needs it to find the operation (its body was consumed)."""
    environ = EnvironBuilder(
        method=request.method, path=request.path, query_string=request.query_string.decode(),
        headers=[(k, v) for k, v in request.headers.items() if k.lower() not in ("content-length", "content-type")],
    ).get_environ()
    return Request(environ)


def test_real_responses_match_the_document(spec, api, api_as, client):
    openapi = OpenAPI.from_dict(spec)
    checked = set()

    def check(response, status):
        assert response.status_code == status, (response.status_code, response.get_json())
        openapi.validate_response(WerkzeugOpenAPIRequest(_bodiless(response.request)), WerkzeugOpenAPIResponse(response))
        checked.add((response.request.method, status))
        return response.get_json()

    created = check(api.post(URL, json={"name": "王芳", "phone": "13800138000", "levels": ["县级"], "tags": ["a"]}), 201)
    check(api.post(URL, json={"name": "李强", "phone": "13900139000"}), 201)
    item = f"{URL}/{created['id']}"
    check(api.get(URL), 200)
    page = check(api.get(URL + "?limit=1&level=county&tag=a&active=true&opted_out=false"), 200)
    assert page["next_cursor"] is None
    first = check(api.get(URL + "?limit=1"), 200)
    check(api.get(URL + f"?limit=1&cursor={first['next_cursor']}"), 200)
    check(api.get(item), 200)
    check(api.patch(item, json={"title": "校长"}), 200)
    check(api.patch(item, json={"opted_out": True, "reason": "电话"}), 200)
    data = csv_file([["姓名", "手机号码", "其他"], ["张伟", "13700137000", ""], ["坏", "123", ""]])
    check(api.post(URL + "/import?dry_run=true", data={"file": (io.BytesIO(data), "r.csv")}), 200)
    check(api.post(URL + "/import", data={"file": (io.BytesIO(data), "r.csv")}), 200)

    # Errors, in the documented Error shape.
    check(client.get(URL), 401)
    check(api_as("viewer").post(URL, json={"name": "x", "phone": "13600136000"}), 403)
    check(api.get(f"{URL}/999999"), 404)
    check(api.patch(f"{URL}/999999", json={}), 404)
    check(api.post(URL, json={"name": "x", "phone": "123"}), 422)
    check(api.get(URL + "?limit=0"), 422)
    check(api.post(URL, data="{", content_type="application/json"), 400)
    check(api.post(URL, data="x", content_type="text/plain"), 415)
    check(api.patch(item, json={"phone": 5}), 422)
    check(api.post(URL + "/import", data={}), 422)
    assert {("GET", 200), ("POST", 201), ("PATCH", 200), ("POST", 200), ("GET", 401), ("POST", 403)} <= checked

    # The check has teeth: a deputy without its phone, or an error without `errors`, is refused.
    response = api.get(item)
    broken = {k: v for k, v in response.get_json().items() if k != "phone"}
    fake = Response(json.dumps(broken), status=200, content_type="application/json")
    with pytest.raises(OpenAPIError):
        openapi.validate_response(WerkzeugOpenAPIRequest(_bodiless(response.request)), WerkzeugOpenAPIResponse(fake))
    fake = Response(json.dumps({"message": "x"}), status=404, content_type="application/json")
    with pytest.raises(OpenAPIError):
        openapi.validate_response(WerkzeugOpenAPIRequest(_bodiless(response.request)), WerkzeugOpenAPIResponse(fake))
