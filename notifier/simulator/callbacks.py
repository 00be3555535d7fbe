"""Delayed work and signed status callbacks, off the request threads.

One timer thread keeps a heap of due times and hands due work to a small thread pool, so
thousands of pending callbacks cost no sleeping threads and never block a create response.
"""

import heapq
import itertools
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import urllib3
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)

USER_AGENT = "TwilioProxy/1.1"


class Scheduler:
    def __init__(self, workers=16):
        self._heap = []
        self._cond = threading.Condition()
        self._order = itertools.count()
        self._running = 0
        self._closed = False
        # Bumped by clear(): work queued before a reset is dropped when it comes due.
        self._generation = 0
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sim-callback")
        self._timer = threading.Thread(target=self._run, name="sim-scheduler", daemon=True)
        self._timer.start()

    def call_later(self, delay_s, fn, *args, inline=False):
        """Run fn(*args) after delay_s: on the pool, or (inline=True: quick, never blocking work)
        on the timer thread itself, which saves a thread hand-off per status step."""
        with self._cond:
            if self._closed:
                return
            due = time.monotonic() + max(0.0, delay_s)
            heapq.heappush(self._heap, (due, next(self._order), self._generation, fn, args, inline))
            self._cond.notify_all()

    def submit(self, fn, *args):
        """Run fn(*args) on the pool now."""
        with self._cond:
            if self._closed:
                return
            self._running += 1
            generation = self._generation
        self._hand_off(generation, fn, args)

    def _hand_off(self, generation, fn, args):
        try:
            self._pool.submit(self._call, generation, fn, args)
        except RuntimeError:  # pool shut down while closing
            self._done()

    def _run(self):
        while True:
            with self._cond:
                while not self._closed:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        break
                    self._cond.wait(self._heap[0][0] - now if self._heap else None)
                if self._closed:
                    return
                due = []
                while self._heap and self._heap[0][0] <= time.monotonic():
                    due.append(heapq.heappop(self._heap))
                self._running += len(due)
            for _, _, generation, fn, args, inline in due:
                if inline:
                    self._call(generation, fn, args)
                else:
                    self._hand_off(generation, fn, args)

    def _call(self, generation, fn, args):
        try:
            if generation == self._generation:
                fn(*args)
        except Exception:
            log.exception("simulator: background work failed")
        finally:
            self._done()

    def _done(self):
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    def pending(self):
        with self._cond:
            return len(self._heap) + self._running

    def wait_idle(self, timeout=None):
        """Wait until nothing is scheduled or running; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._heap and not self._running, timeout)

    def clear(self):
        with self._cond:
            self._heap.clear()
            self._generation += 1
            self._cond.notify_all()

    def close(self):
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._generation += 1
            self._cond.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)


def status_params(message, account_sid):
    """The form fields Twilio posts to a StatusCallback for `message` in its current status."""
    params = {
        "SmsSid": message.sid,
        "SmsStatus": message.status,
        "MessageStatus": message.status,
        "To": message.to,
        "MessageSid": message.sid,
        "AccountSid": account_sid,
        "From": message.from_,
        "ApiVersion": "2010-04-01",
    }
    if message.messaging_service_sid:
        params["MessagingServiceSid"] = message.messaging_service_sid
    if message.status in ("undelivered", "failed") and message.error_code:
        params["ErrorCode"] = str(message.error_code)
    if message.status in ("delivered", "undelivered"):
        params["RawDlrDoneDate"] = message.date_updated.strftime("%y%m%d%H%M")
    return params


class CallbackSender:
    """Posts signed, form-encoded callbacks; retries connection errors and 5xx with backoff."""

    def __init__(self, scheduler, stats, workers=16):
        self._scheduler = scheduler
        self._stats = stats
        # urllib3 rather than requests: a third of the CPU per post, which matters at benchmark rates.
        self._http = urllib3.PoolManager(maxsize=workers, retries=False)

    def send(self, url, params, config, attempt=0, token=None):
        """Post now (call from a pool thread); a retry is scheduled, never slept on."""
        token = token or uuid.uuid4().hex
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": RequestValidator(config.auth_token).compute_signature(
                url, params
            ),
            "I-Twilio-Idempotency-Token": token,
            "User-Agent": USER_AGENT,
        }
        try:
            response = self._http.request(
                "POST",
                url,
                body=urlencode(params),
                headers=headers,
                timeout=config.callback_timeout,
            )
            outcome = response.status
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            outcome = exc.__class__.__name__
        if isinstance(outcome, int) and outcome < 400:
            self._stats.incr("callbacks_delivered")
            return
        retryable = not isinstance(outcome, int) or outcome >= 500 or outcome == 429
        if retryable and attempt < config.callback_retries:
            self._stats.incr("callbacks_retried")
            delay = config.callback_retry_base_ms * (2**attempt) / 1000.0
            self._scheduler.call_later(delay, self.send, url, params, config, attempt + 1, token)
            return
        self._stats.incr("callbacks_failed")
        log.warning(
            "simulator: status callback %s for %s to %s failed after %d attempt(s): %s",
            params.get("MessageStatus"),
            params.get("MessageSid"),
            url,
            attempt + 1,
            outcome,
        )
