"""Aliyun SMS (Dysmsapi 2017-05-25) through its official SDK (alibabacloud-dysmsapi20170525).

Aliyun sends only approved templates under a registered sign name, so every text reaches it as a
template code and its variables (Outbound.template_code, .template_params). SendSms carries one
text (OutId = our message id); SendBatchSms carries up to ALIYUN_SMS_BATCH_SIZE texts of one
template in one call, when configured. ALIYUN_SMS_ENDPOINT may be `http://host:port` (the simulator
in notifier/simulator/aliyun): the SDK talks to it unchanged, signature and all.

Aliyun has no idempotency key: a call whose answer was lost is settled with QuerySendDetails (the
texts Aliyun holds for the number on the day, matched on OutId, else on the text) before anything
is sent again (notifier.delivery.reconcile).

Our gateway id of a text is "<number>:<BizId>": a BizId names a whole batch, and QuerySendDetails
needs the number to find it again. A text found only by QuerySendDetails (which does not return
the BizId) is "<number>:out=<OutId>" until its receipt brings the BizId.
"""
import asyncio
import json
import re
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from alibabacloud_dysmsapi20170525 import models as sms
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.models import Config
from darabonba.exceptions import RetryError
from darabonba.runtime import RuntimeOptions

from notifier.gateways.base import (
    ACCEPTED,
    MISCONFIGURED,
    PACED,
    PERMANENT,
    THROTTLED,
    TRANSIENT,
    UNKNOWN,
    Gateway,
    RemoteMessage,
    SendResult,
    redact,
    run_batch,
)
from notifier.gateways.twilio.adapter import body_match

DEFAULT_ENDPOINT = "dysmsapi.aliyuncs.com"
OK = "OK"
# Flow control: Aliyun asks us to slow down (per number and signature, per account, per API).
THROTTLED_CODES = {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "Throttling", "Throttling.User",
                   "Throttling.Api", "Throttling.Concurrent"}
# The text itself is refused for good: the number, or what this text's variables say.
PERMANENT_CODES = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.BLACK_KEY_CONTROL_LIMIT",
                   "isv.PARAM_LENGTH_LIMIT", "isv.PARAM_NOT_SUPPORT_URL", "isv.INVALID_JSON_PARAM",
                   "isv.TEMPLATE_MISSING_PARAMETERS", "isv.TEMPLATE_PARAMS_ILLEGAL", "isv.INVALID_PARAMETERS",
                   "isv.DOMESTIC_NUMBER_NOT_SUPPORTED", "isv.SMS_CONTENT_ILLEGAL", "isv.BLACK_LIST"}
# Our side is wrong, not the recipient's: every text would fail the same way until an admin acts
# (the sign name or template is not approved, the key or account is wrong, the balance is spent).
MISCONFIGURED_CODES = {"isv.SMS_SIGNATURE_ILLEGAL", "isv.SMS_SIGN_ILLEGAL", "isv.SIGN_NAME_ILLEGAL",
                       "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_SCENE_ILLEGAL", "isv.ACCOUNT_NOT_EXISTS",
                       "isv.ACCOUNT_ABNORMAL", "isv.OUT_OF_SERVICE", "isv.PRODUCT_UN_SUBSCRIPT",
                       "isv.PRODUCT_UNSUBSCRIBE", "isv.AMOUNT_NOT_ENOUGH", "isv.RAM_PERMISSION_DENY",
                       "isp.RAM_PERMISSION_DENY", "isv.DENY_IP_RANGE", "SignatureDoesNotMatch",
                       "IncompleteSignature", "InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive",
                       "InvalidAccessKeyId", "Forbidden.RAM", "Forbidden", "InvalidTimeStamp.Expired",
                       "InvalidVersion", "InvalidAction.NotFound"}
TRANSIENT_CODES = {"isp.SYSTEM_ERROR", "isv.SYSTEM_ERROR", "ServiceUnavailable", "SignatureNonceUsed"}
# QuerySendDetails' SendStatus: 1 waiting for the receipt, 2 failed, 3 delivered.
SEND_STATUS = {1: "sent", 2: "undelivered", 3: "delivered"}
BATCH_LIMIT = 100  # SendBatchSms takes at most 100 numbers
CHINA = ZoneInfo("Asia/Shanghai")  # Aliyun's SendDate and its daily limits are on Beijing time


def classify_error(code, status=200):
    """Map an Aliyun error code (and the HTTP status it came with) to an outcome."""
    code = code or ""
    if code in THROTTLED_CODES or code.startswith("Throttling") or status == 429:
        return THROTTLED
    if code in MISCONFIGURED_CODES or status in (401, 403):
        return MISCONFIGURED
    if code in TRANSIENT_CODES or status == 503:
        return TRANSIENT
    if status >= 500:
        # An internal error may come after the text was taken: ask (QuerySendDetails) before
        # sending it again.
        return UNKNOWN
    return PERMANENT


def limit_window(message, now=None):
    """Seconds until a flow-control limit named in Aliyun's message lifts: its limits are per
    minute, per hour and per (Beijing) day ("触发分钟级流控", "小时级", "天级"); None when unsaid."""
    message = message or ""
    now = now or datetime.now(CHINA)
    if "天级" in message or "day" in message.lower():
        tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
        return (tomorrow - now).total_seconds()
    if "小时级" in message or "hour" in message.lower():
        return 3600.0 - now.minute * 60 - now.second
    if "分钟级" in message or "minute" in message.lower():
        return 60.0 - now.second
    return None


def aliyun_number(to):
    """E.164 to Aliyun's form: mainland numbers without +86, others with their country code."""
    to = (to or "").strip()
    if to.startswith("+86"):
        return to[3:]
    return to.lstrip("+")


def e164(number):
    """Aliyun's form of a number (11 digits, maybe 86 ahead) back to E.164."""
    digits = re.sub(r"\D", "", number or "")
    if len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    if digits.startswith("0086"):
        digits = digits[2:]
    return "+" + digits


def gateway_id_of(number, biz_id):
    return f"{aliyun_number(number)}:{biz_id}"


def split_gateway_id(gateway_id):
    """(number, biz_id or None, out_id or None) from our gateway id of an Aliyun text."""
    number, _, rest = (gateway_id or "").partition(":")
    if rest.startswith("out="):
        return number, None, rest[4:]
    return number, rest or None, None


_MAX_REPACES = 8


class AliyunGateway(Gateway):
    """Dysmsapi at `endpoint` (a host, or http(s)://host:port)."""

    name = "aliyun"

    def __init__(self, access_key_id, access_key_secret, sign_name, endpoint=None, timeout=15.0, batch_size=1):
        if not access_key_id or not access_key_secret:
            raise RuntimeError("ALIYUN_ACCESS_KEY_ID and ALIYUN_ACCESS_KEY_SECRET are required for the aliyun gateway")
        if not sign_name:
            raise RuntimeError("ALIYUN_SMS_SIGN_NAME is required for the aliyun gateway")
        # Registered without 【】: Aliyun adds them to the text itself.
        self.sign_name = sign_name.strip().strip("【】[]")
        self.sender = self.sign_name  # daily limits and the pace are per signature
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        endpoint = (endpoint or DEFAULT_ENDPOINT).strip().rstrip("/")
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        self.protocol, self.endpoint = parts.scheme.upper(), parts.netloc
        self.timeout = float(timeout)
        self.batch_size = max(1, min(BATCH_LIMIT, int(batch_size or 1)))
        self._secrets = [access_key_secret]

    @classmethod
    def from_config(cls, config):
        return cls(config.get("ALIYUN_ACCESS_KEY_ID"), config.get("ALIYUN_ACCESS_KEY_SECRET"),
                   config.get("ALIYUN_SMS_SIGN_NAME"), config.get("ALIYUN_SMS_ENDPOINT"),
                   timeout=config.get("ALIYUN_HTTP_TIMEOUT") or 15, batch_size=config.get("ALIYUN_SMS_BATCH_SIZE") or 1)

    @property
    def url(self):
        return f"{self.protocol.lower()}://{self.endpoint}"

    def _client(self):
        return Client(Config(access_key_id=self.access_key_id, access_key_secret=self.access_key_secret,
                             endpoint=self.endpoint, protocol=self.protocol,
                             read_timeout=int(self.timeout * 1000), connect_timeout=int(min(self.timeout, 5) * 1000)))

    def _runtime(self):
        # Our own outbox retries; an SDK retry would be a second send we do not know of.
        return RuntimeOptions(autoretry=False, max_attempts=0, read_timeout=int(self.timeout * 1000),
                              connect_timeout=int(min(self.timeout, 5) * 1000))

    # --- sending -------------------------------------------------------------------------------

    def send_many(self, items, delays=None, repace=None, on_result=None):
        """Send `items` concurrently, each after its delay (see Gateway.send_many); texts of one
        template go together through SendBatchSms when ALIYUN_SMS_BATCH_SIZE > 1."""
        return run_batch(self._send_many(items, delays or [0.0] * len(items), repace, on_result))

    async def _send_many(self, items, delays, repace, on_result):
        client = self._client()
        results = [None] * len(items)
        jobs = []
        for group in self._groups(items, delays):
            jobs.append(self._send_group(client, [items[i] for i in group], max(delays[i] for i in group),
                                         repace, on_result, group, results))
        await asyncio.gather(*jobs)
        return results

    def _groups(self, items, delays):
        """Indexes of the texts sent in one call: alone, or with others of the same template (in
        pace order) when batching is on."""
        if self.batch_size <= 1:
            return [[i] for i in range(len(items))]
        groups, open_ = [], {}
        for i in sorted(range(len(items)), key=lambda i: delays[i]):
            if not items[i].template_code:
                groups.append([i])  # refused on its own (see _send_sms)
                continue
            key = (items[i].template_code, json.dumps(sorted((items[i].template_params or {}).keys())))
            group = open_.get(key)
            if group is None or len(group) >= self.batch_size:
                group = open_[key] = []
                groups.append(group)
            group.append(i)
        return groups

    async def _send_group(self, client, group_items, delay, repace, on_result, indexes, results):
        if delay > 0:
            await asyncio.sleep(delay)
        ready = []
        for index, item in zip(indexes, group_items, strict=True):
            if await _wait_for_slot(item, repace):
                ready.append((index, item))
            else:
                results[index] = SendResult(THROTTLED, error_code=PACED,
                                            error_message="not sent: held back by the rate limiter")
        if not ready:
            return
        if len(ready) == 1:
            answers = [await self._send_sms(client, ready[0][1])]
        else:
            answers = await self._send_batch(client, [item for _, item in ready])
        for (index, item), result in zip(ready, answers, strict=True):
            results[index] = result
            if on_result is not None:
                on_result(item, result)

    async def _send_sms(self, client, item):
        if not item.template_code:
            # Aliyun would answer isv.SMS_TEMPLATE_ILLEGAL, which stops the gateway for every text:
            # this one text is wrong, not the account.
            return SendResult(PERMANENT, error_code="no_template",
                              error_message="Aliyun sends only approved templates; this text was not composed from one")
        params = {"PhoneNumbers": aliyun_number(item.to), "SignName": self.sign_name,
                  "TemplateCode": item.template_code or "", "OutId": str(item.message_id)}
        if item.template_params:
            params["TemplateParam"] = json.dumps(item.template_params, ensure_ascii=False)
        request = sms.SendSmsRequest(phone_numbers=params["PhoneNumbers"], sign_name=self.sign_name,
                                     template_code=params["TemplateCode"], out_id=params["OutId"],
                                     template_param=params.get("TemplateParam"))
        result, = await self._call("SendSms", params, [item], client.send_sms_with_options_async(
            request, self._runtime()))
        return result

    async def _send_batch(self, client, items):
        """One SendBatchSms call for texts of one template. A refusal that names no number (a bad
        number in the batch) is settled by sending each on its own, so one number fails alone."""
        numbers = [aliyun_number(item.to) for item in items]
        params = {"PhoneNumberJson": json.dumps(numbers), "SignNameJson": json.dumps([self.sign_name] * len(items),
                                                                                    ensure_ascii=False),
                  "TemplateCode": items[0].template_code or "",
                  "TemplateParamJson": json.dumps([item.template_params or {} for item in items], ensure_ascii=False),
                  "OutId": f"b{items[0].message_id}-{items[-1].message_id}"}
        request = sms.SendBatchSmsRequest(phone_number_json=params["PhoneNumberJson"],
                                          sign_name_json=params["SignNameJson"], template_code=params["TemplateCode"],
                                          template_param_json=params["TemplateParamJson"], out_id=params["OutId"])
        results = await self._call("SendBatchSms", params, items,
                                   client.send_batch_sms_with_options_async(request, self._runtime()))
        if results[0].outcome == PERMANENT:
            return list(await asyncio.gather(*(self._send_sms(client, item) for item in items)))
        return results

    async def _call(self, action, params, items, call):
        """Await one SDK call and turn its answer into one SendResult per text it carried."""
        record = {"method": "POST", "url": f"{self.url}/?Action={action}", "request": {"params": params}}
        started = time.monotonic()
        outcome = code = message = biz_id = None
        retry_after = None
        try:
            response = await asyncio.wait_for(call, self.timeout + 1)
            body = response.body
            record.update(response_status=response.status_code, response_body=_dumps(body.to_map()))
            code, message, biz_id = body.code, body.message, body.biz_id
            if code == OK:
                outcome = ACCEPTED
            else:
                outcome = classify_error(code)
        except TimeoutError:
            outcome, code, message = UNKNOWN, "timeout", f"no answer within {self.timeout:g}s"
        except AlibabaCloudException as exc:
            status = getattr(exc, "status_code", None) or 0
            code, message = exc.code, _message(exc)
            outcome = classify_error(code, status)
            record.update(response_status=status, response_body=_dumps(getattr(exc, "data", None) or {}))
            retry_after = getattr(exc, "retry_after", None)
            retry_after = float(retry_after) / 1000 if retry_after else None
        except RetryError as exc:  # the SDK's wrapper of connection errors
            text = str(exc)
            outcome = TRANSIENT if _never_connected(text) else UNKNOWN
            code, message = "connection", text[:500]
        except Exception as exc:  # noqa: BLE001  (aiohttp and OS errors the SDK lets through)
            outcome, code, message = UNKNOWN, "connection", f"{type(exc).__name__}: {exc}"[:500]
        record["duration_ms"] = int((time.monotonic() - started) * 1000)
        if outcome != ACCEPTED:
            record["error"] = f"{code}: {message}"
        exchange = redact(record, self._secrets)
        recipient_limit = False
        if outcome == THROTTLED and code == "isv.BUSINESS_LIMIT_CONTROL":
            retry_after = retry_after or limit_window(message)
            # "号码" (number) limits are this recipient's: they must not slow everyone else.
            recipient_limit = "号码" in (message or "") and len(items) == 1
        results = []
        for item in items:
            if outcome == ACCEPTED:
                results.append(SendResult(ACCEPTED, gateway_id=gateway_id_of(item.to, biz_id), gateway_status="sent"))
            else:
                results.append(SendResult(outcome, error_code=(code or "")[:64], error_message=(message or "")[:500],
                                          retry_after=retry_after, recipient_limit=recipient_limit))
        results[0].exchange = exchange  # one call, one exchange: kept with its first text
        return results

    # --- reading (reconciliation, receipts) ------------------------------------------------------

    def find_sent(self, to, body, since, until=None, message_id=None):
        """Texts Aliyun holds for `to` sent in [since, until]: QuerySendDetails for each Beijing
        day of the window. A text whose OutId is our message id (or a batch's range holding it) is
        surely ours and comes first; else the text is matched on its content (the filled template
        with its 【signature】)."""
        until = until or datetime.now(CHINA)
        number = aliyun_number(to)
        client = self._client()
        found = []
        day = since.astimezone(CHINA).date()
        while day <= until.astimezone(CHINA).date():
            for detail in self._details(client, number, day):
                sent = _parse_time(detail.send_date)
                if sent is not None and (sent < since - timedelta(seconds=1) or sent > until):
                    continue
                mine = message_id is not None and out_id_holds(detail.out_id, message_id)
                score = 4 if mine else body_match(body, detail.content)
                if not score or (message_id is not None and detail.out_id and not mine
                                 and str(detail.out_id).strip()):
                    continue  # another of our texts (its OutId says whose)
                found.append((score, sent, _remote(number, detail)))
            day += timedelta(days=1)
        found.sort(key=lambda f: (-f[0], f[1] is None, f[1]))
        return [remote for _, _, remote in found]

    def _details(self, client, number, day, biz_id=None):
        page, details = 1, []
        while True:
            request = sms.QuerySendDetailsRequest(phone_number=number, send_date=day.strftime("%Y%m%d"),
                                                  page_size=50, current_page=page, biz_id=biz_id)
            body = client.query_send_details_with_options(request, self._runtime()).body
            if body.code != OK:
                raise RuntimeError(f"QuerySendDetails: {body.code}: {body.message}")
            batch = (body.sms_send_detail_dtos and body.sms_send_detail_dtos.sms_send_detail_dto) or []
            details += batch
            if len(batch) < 50 or len(details) >= int(body.total_count or 0):
                return details
            page += 1

    def fetch(self, gateway_id):
        """Aliyun's current view of one text: QuerySendDetails by number and BizId (or OutId),
        today and yesterday (Beijing time) — receipts are polled within hours of sending."""
        number, biz_id, out_id = split_gateway_id(gateway_id)
        if not number:
            return None
        client = self._client()
        today = datetime.now(CHINA).date()
        for day in (today, today - timedelta(days=1)):
            for detail in self._details(client, number, day, biz_id=biz_id):
                if out_id is None or str(detail.out_id) == out_id:
                    remote = _remote(number, detail)
                    remote.gateway_id = gateway_id
                    return remote
        return None

    def check(self):
        """One cheap authenticated read (QuerySendDetails for a number with no texts): fails on
        a bad key or secret, an endpoint that does not answer."""
        client = self._client()
        request = sms.QuerySendDetailsRequest(phone_number="13800000000",
                                              send_date=datetime.now(CHINA).strftime("%Y%m%d"),
                                              page_size=1, current_page=1)
        body = client.query_send_details_with_options(request, self._runtime()).body
        if body.code != OK:
            raise RuntimeError(f"{body.code}: {body.message}")


async def _wait_for_slot(item, repace):
    for _ in range(_MAX_REPACES):
        wait = 0.0 if repace is None else repace(item)
        if wait is None:
            return False
        if wait <= 0:
            return True
        await asyncio.sleep(wait)
    return False


def out_id_holds(out_id, message_id):
    """Whether an OutId we sent names `message_id`: "123", or a batch's "b120-180"."""
    out_id = str(out_id or "").strip()
    if out_id.isdigit():
        return int(out_id) == int(message_id)
    match = re.fullmatch(r"b(\d+)-(\d+)", out_id)
    return bool(match) and int(match[1]) <= int(message_id) <= int(match[2])


def _remote(number, detail):
    status = SEND_STATUS.get(int(detail.send_status or 1), "sent")
    out = f"out={detail.out_id}" if detail.out_id else "out="
    return RemoteMessage(gateway_id=f"{number}:{out}", to=e164(detail.phone_num or number), body=detail.content,
                         status=status, date_created=_parse_time(detail.send_date),
                         error_code=None if status != "undelivered" else (detail.err_code or None),
                         error_message=None)


def _parse_time(value):
    """Aliyun's "2026-12-02 09:30:00" (Beijing time) as an aware datetime."""
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    except (TypeError, ValueError):
        return None


def _message(exc):
    data = getattr(exc, "data", None) or {}
    return str(data.get("Message") or getattr(exc, "message", "") or exc)[:500]


def _never_connected(text):
    return "Cannot connect" in text or "Connection refused" in text or "Name or service not known" in text


def _dumps(value):
    return json.dumps(value, ensure_ascii=False, default=str)[:4000]
