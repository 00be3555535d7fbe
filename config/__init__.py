"""Settings classes, read from the environment (and from a `.env` file when present).

Pick one with NOTIFIER_ENV=development|testing|production (default: development).
The variable names are the public contract in DESIGN.md; keep them stable.
"""
import os

from dotenv import load_dotenv

load_dotenv(os.environ.get("NOTIFIER_DOTENV", ".env"), override=False)


def _env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


class Invalid:
    """A setting whose value does not parse. It stays in the config until the app factory
    refuses to start, naming the variable (notifier/settings_check.py), rather than the import
    failing with a traceback or the value failing later in a worker."""

    def __init__(self, name, value, expected):
        self.name, self.value, self.expected = name, value, expected

    def __str__(self):
        return f"{self.name}={self.value!r}: expected {self.expected}"

    __repr__ = __str__


def _number(kind, name, default, at_least, at_most):
    raw = _env(name, default)
    try:
        value = kind(str(raw).strip())
    except ValueError:
        value = None
    if value is None or value < at_least or (at_most is not None and value > at_most):
        what = "a whole number" if kind is int else "a number"
        bounds = f" from {at_least} to {at_most}" if at_most is not None else f" of at least {at_least}"
        return Invalid(name, raw, what + bounds)
    return value


def _int(name, default, at_least=0, at_most=None):
    return _number(int, name, default, at_least, at_most)


def _float(name, default, at_least=0, at_most=None):
    return _number(float, name, default, at_least, at_most)


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _bool(name, default):
    raw = str(_env(name, default)).strip().lower()
    if raw not in _TRUE | _FALSE:
        return Invalid(name, raw, "true or false")
    return raw in _TRUE


def _networks(name, default):
    import ipaddress

    raw = _env(name, default)
    try:
        return [ipaddress.ip_network(part.strip(), strict=False) for part in str(raw).split(",") if part.strip()]
    except ValueError:
        return Invalid(name, raw, "addresses or networks like 127.0.0.1/32,10.0.0.0/8")


class Config:
    SECRET_KEY = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", "sqlite:///notifier.sqlite3")
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000")

    # Gateways: a priority list (`cmpp,aliyun`), optional routes by prefix (`+86=cmpp,aliyun;*=twilio`),
    # and each gateway's own settings below. <NAME>_RATE_LIMIT overrides SMS_RATE_LIMIT per gateway.
    SMS_GATEWAY = _env("SMS_GATEWAY", "twilio")
    SMS_ROUTES = _env("SMS_ROUTES", "")
    TWILIO_RATE_LIMIT = _env("TWILIO_RATE_LIMIT") and _float("TWILIO_RATE_LIMIT", None)
    # CMPP 2.0 (China Mobile's ISMG or a 云MAS account), held by the `notifier cmpp` process.
    CMPP_HOST = _env("CMPP_HOST")
    CMPP_PORT = _int("CMPP_PORT", 7890, at_least=1, at_most=65535)
    CMPP_SP_ID = _env("CMPP_SP_ID")  # Source_Addr: the 6-digit enterprise code
    CMPP_SHARED_SECRET = _env("CMPP_SHARED_SECRET")
    CMPP_SERVICE_ID = _env("CMPP_SERVICE_ID", "")
    CMPP_SRC_ID = _env("CMPP_SRC_ID")  # the SP access number, e.g. 1065xxxx; a notice's extension follows it
    CMPP_WINDOW = _int("CMPP_WINDOW", 16, at_least=1, at_most=256)  # unanswered submits in flight
    CMPP_RATE_LIMIT = _env("CMPP_RATE_LIMIT") and _float("CMPP_RATE_LIMIT", None)
    # The longest wait between logins: a refused login (a wrong secret) waits this long each time.
    CMPP_RECONNECT_MAX_SECONDS = _float("CMPP_RECONNECT_MAX_SECONDS", "60", at_least=0.1)
    # Aliyun SMS (Dysmsapi 2017-05-25): approved templates under a registered sign name (without
    # 【】). ALIYUN_SMS_ENDPOINT may be http://host:port (the simulator). Receipts and replies are
    # pushed to /webhooks/aliyun/<ALIYUN_CALLBACK_TOKEN>/report and /up; Aliyun does not sign its
    # pushes, so the token is the secret, ALIYUN_CALLBACK_ALLOW (addresses or networks) optional.
    ALIYUN_ACCESS_KEY_ID = _env("ALIYUN_ACCESS_KEY_ID")
    ALIYUN_ACCESS_KEY_SECRET = _env("ALIYUN_ACCESS_KEY_SECRET")
    ALIYUN_SMS_ENDPOINT = _env("ALIYUN_SMS_ENDPOINT", "dysmsapi.aliyuncs.com")
    ALIYUN_SMS_SIGN_NAME = _env("ALIYUN_SMS_SIGN_NAME")
    ALIYUN_CALLBACK_TOKEN = _env("ALIYUN_CALLBACK_TOKEN")
    ALIYUN_CALLBACK_ALLOW = _env("ALIYUN_CALLBACK_ALLOW", "")
    ALIYUN_SMS_BATCH_SIZE = _int("ALIYUN_SMS_BATCH_SIZE", 1, at_least=1, at_most=100)  # >1: SendBatchSms
    ALIYUN_HTTP_TIMEOUT = _float("ALIYUN_HTTP_TIMEOUT", "15", at_least=0.1)
    ALIYUN_RATE_LIMIT = _env("ALIYUN_RATE_LIMIT") and _float("ALIYUN_RATE_LIMIT", None)
    GATEWAY_REFUSING_AFTER = _int("GATEWAY_REFUSING_AFTER", 20, at_least=1)  # texts in a row that did not reach it
    GATEWAY_PROBE_SECONDS = _float("GATEWAY_PROBE_SECONDS", 30, at_least=1)  # how often one not up is asked again
    GATEWAY_HOLD_SECONDS = _float("GATEWAY_HOLD_SECONDS", 30, at_least=1)  # texts no gateway may carry wait this long
    TWILIO_ACCOUNT_SID = _env("TWILIO_ACCOUNT_SID")
    TWILIO_AUTH_TOKEN = _env("TWILIO_AUTH_TOKEN")
    TWILIO_FROM_NUMBER = _env("TWILIO_FROM_NUMBER")
    TWILIO_MESSAGING_SERVICE_SID = _env("TWILIO_MESSAGING_SERVICE_SID")
    TWILIO_API_BASE_URL = _env("TWILIO_API_BASE_URL", "https://api.twilio.com")
    # The numbers deputies text (comma-separated), whose inbound list the catch-up reads; default:
    # TWILIO_FROM_NUMBER. Set it when sending through a Messaging Service.
    TWILIO_INBOUND_NUMBERS = _env("TWILIO_INBOUND_NUMBERS")
    SMS_RATE_LIMIT = _float("SMS_RATE_LIMIT", "10", at_least=0.01)
    SMS_SIGNATURE = _env("SMS_SIGNATURE", "【县人大常委会】")
    # Delivery engine (issue 3). Every countdown stays well below the broker's visibility timeout.
    # A text that fails transiently is given up (`failed`) this long after its first try (database
    # clock); "slow down" answers never fail a text. SMS_MAX_ATTEMPTS is only a safety net under a
    # gateway that fails at once, every time.
    SMS_GIVE_UP_AFTER_HOURS = _float("SMS_GIVE_UP_AFTER_HOURS", "4", at_least=0.01)
    SMS_MAX_ATTEMPTS = _int("SMS_MAX_ATTEMPTS", 100, at_least=1)  # gateway calls per message before `failed`
    # The limiter learns the gateway's pace (AIMD): a "slow down" multiplies the rate by
    # SMS_RATE_BACKOFF; accepted texts raise it back to where it was cut in about
    # SMS_RATE_RECOVERY_SECONDS of sending, never above the configured rate.
    SMS_RATE_BACKOFF = _float("SMS_RATE_BACKOFF", "0.7", at_least=0.05, at_most=0.95)
    SMS_RATE_RECOVERY_SECONDS = _float("SMS_RATE_RECOVERY_SECONDS", "10", at_least=0.1)
    # Each gateway call's request and answer (gateway_exchanges) is kept for every text that was
    # not accepted, and for this share of those that were: at full pace a row per text is a
    # fifth of what a text costs the database, and an accepted call's exchange says little.
    SMS_EXCHANGE_SAMPLE = _float("SMS_EXCHANGE_SAMPLE", "0.05", at_most=1)
    SMS_RETRY_BASE_SECONDS = _float("SMS_RETRY_BASE_SECONDS", "2")  # doubled per attempt, plus jitter
    SMS_RETRY_MAX_SECONDS = _float("SMS_RETRY_MAX_SECONDS", "300")
    SMS_SEND_LEASE_SECONDS = _int("SMS_SEND_LEASE_SECONDS", 120)  # `sending` longer than this: reconcile
    SMS_RECONCILE_DELAY_SECONDS = _float("SMS_RECONCILE_DELAY_SECONDS", "60")  # after a timed-out call
    SMS_REQUEUE_AFTER_SECONDS = _int("SMS_REQUEUE_AFTER_SECONDS", 300)  # `queued` untouched this long: queue again
    # `sent` without a receipt: ask the gateway this long after sending, then after as long again
    # (at most the max interval); close as "sent, no receipt" after the max age.
    SMS_RECEIPT_POLL_AFTER_SECONDS = _int("SMS_RECEIPT_POLL_AFTER_SECONDS", 180, at_least=1)
    SMS_RECEIPT_POLL_MAX_INTERVAL_SECONDS = _int("SMS_RECEIPT_POLL_MAX_INTERVAL_SECONDS", 3600, at_least=1)
    SMS_RECEIPT_MAX_AGE_HOURS = _float("SMS_RECEIPT_MAX_AGE_HOURS", "72", at_least=0.01)
    SMS_SWEEP_INTERVAL_SECONDS = _float("SMS_SWEEP_INTERVAL_SECONDS", "30", at_least=1)
    SMS_VALIDITY_PERIOD = _int("SMS_VALIDITY_PERIOD", 14400, at_least=1, at_most=36000)  # seconds Twilio may keep trying (1..36000)
    SMS_RATE_MAX_WAIT = _float("SMS_RATE_MAX_WAIT", "5")  # longer waits re-queue with a countdown
    SEND_BATCH_SIZE = _int("SEND_BATCH_SIZE", 50, at_least=1)  # messages per send task, sent concurrently
    TWILIO_HTTP_TIMEOUT = _float("TWILIO_HTTP_TIMEOUT", "15", at_least=0.1)
    GATEWAY_EXCHANGE_RETENTION_DAYS = _int("GATEWAY_EXCHANGE_RETENTION_DAYS", 30)
    # Webhooks the database could not take wait here (default: <instance>/webhook-spool; put it on
    # a persistent volume) and are drained this often by each web process (0: only by the CLI).
    WEBHOOK_SPOOL_DIR = _env("WEBHOOK_SPOOL_DIR")
    WEBHOOK_DRAIN_INTERVAL_SECONDS = _float("WEBHOOK_DRAIN_INTERVAL_SECONDS", "5")
    BROKER_VISIBILITY_TIMEOUT = _int("BROKER_VISIBILITY_TIMEOUT", 3600, at_least=60)
    # The worker's pool (workers/app.py): processes, two per core, each sending its batches on an
    # event loop; `threads` keeps a worker to one process.
    CELERY_WORKER_POOL = _env("CELERY_WORKER_POOL", "prefork")
    CELERY_WORKER_CONCURRENCY = _int("CELERY_WORKER_CONCURRENCY", 2 * (os.cpu_count() or 1), at_least=1)
    QUIET_HOURS = _env("QUIET_HOURS", "")
    TIMEZONE = _env("TIMEZONE", "Asia/Shanghai")
    DEFAULT_REGION = _env("DEFAULT_REGION", "CN")
    DEFAULT_LOCALE = _env("DEFAULT_LOCALE", "zh_Hans_CN")

    # Flask-Babel: Simplified Chinese first, English complete.
    BABEL_DEFAULT_LOCALE = DEFAULT_LOCALE
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}

    # Login: rate-limited, sessions that do not leak to scripts.
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    # Reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host: their number, so
    # the client's own address is the one limited and audited. 0: the app faces clients itself.
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0, at_most=5)
    # Sessions (notifier/accounts/sessions.py): ended after this long unused, and this long after
    # logging in however busy. "Remember me" keeps the session across browser restarts within both.
    SESSION_IDLE_MINUTES = _int("SESSION_IDLE_MINUTES", 30, at_least=1)
    SESSION_LIFETIME_HOURS = _int("SESSION_LIFETIME_HOURS", 12, at_least=1)
    # Password policy and lockout (notifier/accounts/passwords.py, lockout.py); the security
    # administrator may change them in the UI, never under the floors in security_policy.py.
    PASSWORD_MIN_LENGTH = _int("PASSWORD_MIN_LENGTH", 10, at_least=8, at_most=64)
    PASSWORD_MIN_CLASSES = _int("PASSWORD_MIN_CLASSES", 3, at_least=2, at_most=4)
    PASSWORD_HISTORY = _int("PASSWORD_HISTORY", 5, at_least=1, at_most=24)
    PASSWORD_MAX_AGE_DAYS = _int("PASSWORD_MAX_AGE_DAYS", 90, at_most=365)  # 0: never expire
    LOCKOUT_ATTEMPTS = _int("LOCKOUT_ATTEMPTS", 5, at_least=3, at_most=10)
    LOCKOUT_MINUTES = _int("LOCKOUT_MINUTES", 15, at_least=5, at_most=24 * 60)
    # Logs: "text" lines, or "json" (one object per line with notice and message ids: notifier/ops/logs.py).
    LOG_FORMAT = _env("LOG_FORMAT", "text")
    # GET /metrics: a bearer token (for a Prometheus elsewhere), or a client address in these networks.
    METRICS_TOKEN = _env("METRICS_TOKEN")
    METRICS_ALLOW_NETWORKS = _networks("METRICS_ALLOW_NETWORKS", "127.0.0.1/32,::1/128")
    # The audit trail is kept at least 180 days (MLPS 2.0 level 3); a smaller value does not start.
    AUDIT_RETENTION_DAYS = _int("AUDIT_RETENTION_DAYS", 365, at_least=180)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Roster import: refuse files larger than this before parsing them.
    MAX_CONTENT_LENGTH = _int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024, at_least=1024)
    # What an .xlsx may unpack to (its parts together): a small zip can hold gigabytes of XML.
    ROSTER_MAX_UNPACKED_BYTES = _int("ROSTER_MAX_UNPACKED_BYTES", 100 * 1024 * 1024, at_least=1024)
    ROSTER_MAX_ROWS = _int("ROSTER_MAX_ROWS", 50000, at_least=1)
    # Background jobs (notifier/jobs): their files wait here (default <instance>/jobs; the web and
    # the workers must share it), are removed this long after the job ended; a running job with
    # no progress for JOB_STALE_SECONDS lost its worker and is run again (JOB_MAX_ATTEMPTS runs).
    JOBS_DIR = _env("JOBS_DIR")
    JOB_RETENTION_HOURS = _int("JOB_RETENTION_HOURS", 24, at_least=1)
    JOB_STALE_SECONDS = _int("JOB_STALE_SECONDS", 300, at_least=5)
    JOB_MAX_ATTEMPTS = _int("JOB_MAX_ATTEMPTS", 2, at_least=1, at_most=5)
    JOB_SWEEP_SECONDS = _int("JOB_SWEEP_SECONDS", 60, at_least=1)
    # An import of more rows than this is applied by a worker (a progress bar), smaller ones at once;
    # an XLSX export of more deputies than this is made by a worker (CSV always streams).
    ROSTER_IMPORT_JOB_ROWS = _int("ROSTER_IMPORT_JOB_ROWS", 2000, at_least=0)
    ROSTER_EXPORT_JOB_ROWS = _int("ROSTER_EXPORT_JOB_ROWS", 5000, at_least=0)

    # flask-smorest / OpenAPI
    API_TITLE = "人大短信平台 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    # Flask-Admin 2 / Bootstrap 4
    FLASK_ADMIN_SWATCH = "default"

    TESTING = False
    DEBUG = False


class DevelopmentConfig(Config):
    DEBUG = False
    SECRET_KEY = Config.SECRET_KEY or "dev-only-not-secret"


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-only-not-secret"
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    REDIS_URL = _env("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    PUBLIC_BASE_URL = _env("TEST_PUBLIC_BASE_URL", "http://localhost")  # a live server in worker tests
    SMS_EXCHANGE_SAMPLE = _float("SMS_EXCHANGE_SAMPLE", "1.0", at_most=1)  # tests read every call's exchange


class ProductionConfig(Config):
    # Behind HTTPS (the proxy says so with X-Forwarded-Proto; see TRUSTED_PROXIES): the session
    # cookie is never sent in clear, nor with requests other sites start (SameSite).
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SESSION_COOKIE_SAMESITE = _env("SESSION_COOKIE_SAMESITE", "Lax")
    REMEMBER_COOKIE_SAMESITE = SESSION_COOKIE_SAMESITE
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure, for the whole
    # site and for this host only (no sibling subdomain can set or read it).
    SESSION_COOKIE_NAME = "__Host-session" if SESSION_COOKIE_SECURE is True else "session"

    @classmethod
    def check(cls):
        missing = [k for k in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL") if not _env(k)]
        if missing:
            raise RuntimeError(f"production settings need: {', '.join(missing)}")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name=None):
    name = name or _env("NOTIFIER_ENV", "development")
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"NOTIFIER_ENV must be one of {sorted(CONFIGS)}, not {name!r}") from None
    if hasattr(cls, "check"):
        cls.check()
    return cls
