"""What the simulated Dysmsapi does: checks each request's signature as the SDK makes it
(ACS3-HMAC-SHA256, the SDK's default), sends approved templates, keeps what it sent for
QuerySendDetails, pushes receipts (in batches, some twice) and deputies' replies as JSON arrays.

The signature check follows Aliyun's published V3 scheme: the canonical request (method, path,
sorted query, the signed headers, the body's SHA-256) hashed, and that string signed with the
AccessKey secret; x-acs-content-sha256 must be the body's, x-acs-date recent, nonces used once.
"""
import dataclasses
import hashlib
import hmac
import json
import logging
import random
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import requests

from .config import AliyunSimConfig

log = logging.getLogger(__name__)
BEIJING = timezone(timedelta(hours=8))
ALGORITHM = "ACS3-HMAC-SHA256"
_VARIABLE = re.compile(r"\$\{(\w+)\}")
_MOBILE = re.compile(r"^(?:86)?1[3-9]\d{9}$")


class ApiError(Exception):
    """An answer other than OK: `status` is its HTTP status (200 for business errors)."""

    def __init__(self, code, message, status=200):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


@dataclasses.dataclass
class Sent:
    biz_id: str
    phone: str
    out_id: str
    sign_name: str
    template_code: str
    params: dict
    content: str
    send_date: datetime
    status: int = 1  # 1 waiting for the receipt, 2 failed, 3 delivered
    err_code: str = ""
    receive_date: datetime = None

    def detail(self):
        return {"PhoneNum": self.phone, "SendStatus": self.status, "ErrCode": self.err_code or "DELIVERED",
                "TemplateCode": self.template_code, "Content": self.content, "OutId": self.out_id,
                "SendDate": _fmt(self.send_date), "ReceiveDate": _fmt(self.receive_date) if self.receive_date else ""}

    def report(self):
        ok = self.status == 3
        return {"phone_number": self.phone, "send_time": _fmt(self.send_date),
                "report_time": _fmt(self.receive_date or _now()), "success": ok,
                "err_code": "DELIVERED" if ok else (self.err_code or "UNDELIV"),
                "err_msg": "用户接收成功" if ok else "用户接收失败", "sms_size": str(_segments(self.content)),
                "biz_id": self.biz_id, "out_id": self.out_id}


class AliyunSimulator:
    def __init__(self, **options):
        self.config = AliyunSimConfig().update(**options)
        self.random = random.Random(self.config.seed)
        self.lock = threading.Lock()
        self.sent = []  # every text accepted, in order
        self.calls = {}  # action -> count; errors by code
        self.nonces = {}
        self.pushed = {"report": 0, "up": 0, "report_items": 0, "up_items": 0, "refused": 0}
        self.replies = []
        self._due = []  # (when, Sent): receipts to push
        self._answers = []  # (when, phone, text): deputies' replies to push
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._pusher = threading.Thread(target=self._push_loop, name="aliyun-sim-pusher", daemon=True)
        self._pusher.start()

    def configure(self, **options):
        with self.lock:
            self.config.update(**options)
            if "seed" in options:
                self.random.seed(self.config.seed)
        return self.config.to_dict()

    def reset(self):
        with self.lock:
            self.sent, self.calls, self.replies, self._due, self._answers = [], {}, [], [], []
            self.nonces.clear()
            self.pushed = dict.fromkeys(self.pushed, 0)

    def close(self):
        self._stop.set()
        self._wake.set()

    # --- the request's signature -----------------------------------------------------------------

    def authenticate(self, method, path, query, headers, body):
        """Check the request as Aliyun does; raises ApiError (HTTP 400/404) when it fails."""
        config = self.config
        auth = headers.get("authorization", "")
        match = re.fullmatch(r"(\S+) Credential=([^,]*),SignedHeaders=([^,]*),Signature=([0-9a-f]+)", auth)
        if not match:
            raise ApiError("IncompleteSignature", "The request signature does not conform to Aliyun standards.", 400)
        algorithm, key_id, signed, signature = match.groups()
        if algorithm != ALGORITHM:
            raise ApiError("InvalidSignatureMethod", f"Specified signature method {algorithm} is not supported.", 400)
        if key_id != config.access_key_id:
            raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        payload = hashlib.sha256(body).hexdigest()
        if headers.get("x-acs-content-sha256") != payload:
            raise ApiError("IncompleteSignature", "x-acs-content-sha256 is not the body's hash.", 400)
        names = signed.split(";")
        if not {"host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"} <= set(names):
            raise ApiError("IncompleteSignature", "Required headers are not signed.", 400)
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in names)
        canonical_query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query.items()))
        canonical = "\n".join([method, path or "/", canonical_query, canonical_headers, signed, payload])
        to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        expected = hmac.new(config.access_key_secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", 400)
        try:
            sent_at = datetime.strptime(headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise ApiError("InvalidTimeStamp.Format", "Specified time stamp is not valid.", 400) from None
        if abs((datetime.now(UTC) - sent_at).total_seconds()) > config.max_skew_seconds:
            raise ApiError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", 400)
        nonce = headers.get("x-acs-signature-nonce", "")
        with self.lock:
            if nonce in self.nonces:
                raise ApiError("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
            self.nonces[nonce] = time.monotonic()
            if len(self.nonces) > 200_000:
                self.nonces = dict(list(self.nonces.items())[-100_000:])

    # --- actions ---------------------------------------------------------------------------------

    def call(self, action, params):
        """Answer one authenticated call: (dict body) or ApiError."""
        with self.lock:
            self.calls[action] = self.calls.get(action, 0) + 1
        try:
            if action == "SendSms":
                return self.send_sms(params)
            if action == "SendBatchSms":
                return self.send_batch_sms(params)
            if action == "QuerySendDetails":
                return self.query_send_details(params)
            raise ApiError("InvalidAction.NotFound", f"Specified api {action} is not found.", 404)
        except ApiError as exc:
            with self.lock:
                self.calls[exc.code] = self.calls.get(exc.code, 0) + 1
            raise

    def fault(self):
        """The fault this call draws: None, "hang", "fail", "throttle" or "limit"."""
        config, roll = self.config, self.random.random()
        for name, rate in (("hang", config.hang_rate), ("fail", config.fail_rate),
                           ("throttle", config.throttle_rate), ("limit", config.limit_rate)):
            if roll < rate:
                return name
            roll -= rate
        return None

    def _check_template(self, sign_names, template_code, params_list):
        config = self.config
        for sign in sign_names:
            if sign not in config.sign_names:
                raise ApiError("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        text = config.templates.get(template_code)
        if text is None:
            raise ApiError("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        names = set(_VARIABLE.findall(text))
        for params in params_list:
            if not isinstance(params, dict):
                raise ApiError("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
            missing = names - set(params)
            if missing:
                raise ApiError("isv.TEMPLATE_MISSING_PARAMETERS", f"模板缺少变量: {','.join(sorted(missing))}")
            for value in params.values():
                if not isinstance(value, (str, int, float)):
                    raise ApiError("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
                value = str(value)
                if len(value) > 35:
                    raise ApiError("isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")
                if re.search(r"https?://|www\.", value, re.I):
                    raise ApiError("isv.PARAM_NOT_SUPPORT_URL", "不支持URL")
        return text

    def _check_numbers(self, phones):
        config = self.config
        for phone in phones:
            if not _MOBILE.match(phone) or phone in config.invalid_numbers:
                raise ApiError("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if config.per_number_per_day or config.per_number_per_minute:
            today, minute_ago = _now().date(), _now() - timedelta(minutes=1)
            for phone in phones:
                mine = [s for s in self.sent if s.phone == phone]
                if config.per_number_per_minute and sum(s.send_date > minute_ago for s in mine) >= \
                        config.per_number_per_minute:
                    raise ApiError("isv.BUSINESS_LIMIT_CONTROL", f"触发号码分钟级流控Permits:{config.per_number_per_minute}")
                if config.per_number_per_day and sum(s.send_date.date() == today for s in mine) >= \
                        config.per_number_per_day:
                    raise ApiError("isv.BUSINESS_LIMIT_CONTROL", f"触发号码天级流控Permits:{config.per_number_per_day}")

    def _send(self, phones, sign_names, template_code, params_list, out_id):
        fault = self.fault()
        if fault == "throttle":
            raise ApiError("Throttling.User", "Request was denied due to user flow control.", 400)
        if fault == "limit":
            raise ApiError("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
        text = self._check_template(sign_names, template_code, params_list)
        accept = True
        if fault in ("fail", "hang"):
            accept = self.config.fail_accepts if fault == "fail" else self.config.hang_accepts
        biz_id = f"{self.random.randrange(10**17, 10**18)}^0"
        with self.lock:
            self._check_numbers(phones)
            if accept:
                for phone, sign, params in zip(phones, sign_names, params_list, strict=True):
                    content = f"【{sign}】" + _VARIABLE.sub(lambda m, p=params: str(p.get(m[1], "")), text)
                    sent = Sent(biz_id, phone, out_id, sign, template_code, params, content, _now())
                    self.sent.append(sent)
                    self._due.append((time.monotonic() + _ms(self.config.report_after_ms, self.random) / 1000, sent))
        self._wake.set()
        if fault == "hang":
            self._stop.wait(self.config.hang_seconds)
        if fault == "fail" and accept:  # it failed after taking the text
            raise ApiError("InternalError", "The request processing has failed due to some unknown error.", 500)
        if fault == "fail":
            raise ApiError("ServiceUnavailable", "The request has failed due to a temporary failure of the server.",
                           503)
        return {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": _request_id()}

    def send_sms(self, params):
        phones = [p.strip() for p in (params.get("PhoneNumbers") or "").split(",") if p.strip()]
        if not phones or len(phones) > 1000:
            raise ApiError("isv.MOBILE_COUNT_OVER_LIMIT" if phones else "MissingPhoneNumbers",
                           "手机号码数量超过限制" if phones else "PhoneNumbers is mandatory for this action.",
                           200 if phones else 400)
        try:
            template_params = json.loads(params["TemplateParam"]) if params.get("TemplateParam") else {}
        except ValueError:
            raise ApiError("isv.INVALID_JSON_PARAM", "JSON参数不合法") from None
        return self._send(phones, [params.get("SignName", "")] * len(phones), params.get("TemplateCode", ""),
                          [template_params] * len(phones), params.get("OutId", ""))

    def send_batch_sms(self, params):
        try:
            phones = json.loads(params.get("PhoneNumberJson") or "[]")
            signs = json.loads(params.get("SignNameJson") or "[]")
            values = json.loads(params.get("TemplateParamJson") or "[]")
        except ValueError:
            raise ApiError("isv.INVALID_JSON_PARAM", "JSON参数不合法") from None
        if not phones or len(phones) > 100:
            raise ApiError("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
        if len(signs) != len(phones) or (values and len(values) != len(phones)):
            raise ApiError("isv.INVALID_PARAMETERS", "参数异常: PhoneNumberJson, SignNameJson, TemplateParamJson")
        return self._send([str(p) for p in phones], signs, params.get("TemplateCode", ""),
                          values or [{}] * len(phones), params.get("OutId", ""))

    def query_send_details(self, params):
        phone, day = params.get("PhoneNumber", ""), params.get("SendDate", "")
        if not phone or not re.fullmatch(r"\d{8}", day):
            raise ApiError("isv.INVALID_PARAMETERS", "参数异常: PhoneNumber, SendDate")
        size, page = int(params.get("PageSize") or 10), int(params.get("CurrentPage") or 1)
        if not 1 <= size <= 50:
            raise ApiError("isv.INVALID_PARAMETERS", "PageSize 1-50")
        with self.lock:
            found = [s for s in self.sent if s.phone in (phone, phone[-11:]) and _ymd(s.send_date) == day
                     and (not params.get("BizId") or s.biz_id == params["BizId"])]
        chunk = found[(page - 1) * size:page * size]
        return {"Code": "OK", "Message": "OK", "RequestId": _request_id(), "TotalCount": len(found),
                "SmsSendDetailDTOs": {"SmsSendDetailDTO": [s.detail() for s in chunk]}}

    # --- pushes ----------------------------------------------------------------------------------

    def reply(self, phone, content, dest_code="", sign_name=None, post=True):
        """A deputy texts back: the SmsUp push (to up_url). Returns the pushed item."""
        item = {"phone_number": phone, "send_time": _fmt(_now()), "content": content,
                "sign_name": sign_name or self.config.sign_names[0], "dest_code": dest_code,
                "sequence_id": self.random.randrange(10**9, 10**12)}
        with self.lock:
            self.replies.append(item)
        if post:
            self.push("up", [item])
        return item

    def push(self, kind, items):
        url = self.config.report_url if kind == "report" else self.config.up_url
        if not url:
            return None
        for attempt in range(5):
            try:
                response = requests.post(url, json=items, timeout=10)
                ok = response.status_code == 200 and response.json().get("code") == 0
            except (requests.RequestException, ValueError):
                ok = False
            if ok:
                with self.lock:
                    self.pushed[kind] += 1
                    self.pushed[f"{kind}_items"] += len(items)
                return True
            with self.lock:
                self.pushed["refused"] += 1
            if self._stop.wait(0.2 * 2 ** attempt):
                return False
        return False

    def _push_loop(self):
        while not self._stop.is_set():
            self._wake.wait(0.05)
            self._wake.clear()
            now = time.monotonic()
            with self.lock:
                due = [s for when, s in self._due if when <= now]
                self._due = [(when, s) for when, s in self._due if when > now]
                for sent in due:
                    failed = sent.phone in self.config.undelivered_numbers
                    sent.status, sent.err_code = (2, "UNDELIV") if failed else (3, "DELIVERED")
                    sent.receive_date = _now()
                    if not failed and self.random.random() < self.config.reply_rate:
                        self._answers.append((now + _ms(self.config.reply_after_ms, self.random) / 1000,
                                              sent.phone, self._answer(sent)))
                answers = [(phone, text) for when, phone, text in self._answers if when <= now]
                self._answers = [a for a in self._answers if a[0] > now]
                batch, dup = max(1, self.config.push_batch), self.config.duplicate_rate
                reports = [s.report() for s in due]
                reports += [r for r in reports if self.random.random() < dup]  # pushes repeat
                self.random.shuffle(reports)
            for start in range(0, len(reports), batch):
                self.push("report", reports[start:start + batch])
            for phone, text in answers:
                self.reply(phone, text)

    def _answer(self, sent):
        text = self.random.choice(self.config.reply_texts or ("1",))
        code = (sent.params or {}).get("code")
        if code and self.random.random() < 0.5:
            text += f" #{code}"
        return text

    def wait_idle(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self._due:
                    return True
            time.sleep(0.05)
        return False


def _now():
    return datetime.now(BEIJING).replace(microsecond=0, tzinfo=None)


def _fmt(value):
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _ymd(value):
    return value.strftime("%Y%m%d")


def _request_id():
    return str(uuid.uuid4()).upper()


def _segments(text):
    return 1 if len(text) <= 70 else -(-len(text) // 67)


def _ms(spec, rng):
    low, _, high = str(spec or "0").partition("-")
    return rng.uniform(float(low), float(high)) if high else float(low)
