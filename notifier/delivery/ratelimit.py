"""One rate limiter for the whole cluster: segments per second per sender, kept in Redis.

Celery's `rate_limit` is per worker process; the gateway counts what every worker on every machine
sends, so the pace lives in Redis and every reservation is one atomic Lua script.

Algorithm: GCRA (virtual scheduling) with no burst allowance. Each sender has a theoretical arrival
time `tat`; a reservation of n segments is scheduled at `start = max(tat, now)` and moves `tat` to
`start + n / rate`. Sends are therefore evenly spaced, and a one-second window holds at most `rate`
segments plus those of the one message on its boundary. Time is Redis server time (`TIME`), so the
clocks of worker machines do not matter; callers only receive a relative wait.

Keys (both share the `{sender}` hash tag, so the script also works on Redis Cluster):
    <prefix>:{<sender>}:tat    the next free slot (µs since the epoch); expires when it passes
    <prefix>:{<sender>}:sent   hash: 0.1 s bucket of the scheduled send time -> segments;
                               expires `retention` seconds after the last scheduled send
An idle sender therefore leaves nothing behind.
"""
import math

# KEYS: tat, sent. ARGV: interval µs per segment (0 = unlimited), segments, max wait µs,
# bucket µs, retention µs, trim threshold (fields).
# Returns {1, wait µs} when reserved, {0, wait µs it would have been} when refused.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local bucket_us = tonumber(ARGV[4])
local retention = tonumber(ARGV[5])
local start = now
if interval > 0 then
  local stored = redis.call('GET', KEYS[1])
  if stored then
    local tat = tonumber(stored)
    if tat > now then start = tat end
  end
  if start - now > tonumber(ARGV[3]) then
    return {0, math.ceil(start - now)}
  end
  local new_tat = start + n * interval
  redis.call('SET', KEYS[1], string.format('%.3f', new_tat),
             'PX', math.max(1, math.ceil((new_tat - now) / 1000)))
else
  -- Unlimited: send now; forget any schedule made under an earlier, finite rate.
  redis.call('DEL', KEYS[1])
end
redis.call('HINCRBY', KEYS[2], string.format('%d', math.floor(start / bucket_us)), n)
redis.call('PEXPIRE', KEYS[2], math.ceil((start - now + retention) / 1000))
if redis.call('HLEN', KEYS[2]) > tonumber(ARGV[6]) then
  local oldest = math.floor((now - retention) / bucket_us)
  for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
    if tonumber(field) < oldest then redis.call('HDEL', KEYS[2], field) end
  end
end
return {1, math.ceil(start - now)}
"""

# KEYS: sent. ARGV: window µs, bucket µs. Sums the buckets that lie wholly in the past window.
_MEASURE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local bucket_us = tonumber(ARGV[2])
local count = math.max(1, math.floor(tonumber(ARGV[1]) / bucket_us))
local last = math.floor(now / bucket_us) - 1
local fields = {}
for b = last - count + 1, last do fields[#fields + 1] = string.format('%d', b) end
local total = 0
for _, v in ipairs(redis.call('HMGET', KEYS[1], unpack(fields))) do
  if v then total = total + tonumber(v) end
end
return {total, count}
"""

# KEYS: tat. Returns µs until the next free slot.
_NEXT_FREE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
return math.max(0, math.ceil(tonumber(stored) - now))
"""

_US = 1_000_000


class SegmentRateLimiter:
    """reserve() before each gateway call; sleep the returned wait, or re-queue on None.

    `rate` is segments per second per sender, shared by every process using the same Redis and
    prefix; `rate <= 0` means unlimited. Assigning `limiter.rate` (or building a new limiter with
    another rate) applies from the next reservation; slots already handed out stay as they were.
    """

    def __init__(
        self,
        redis_client,
        rate: float,
        key_prefix: str = "notifier:rate",
        *,
        retention: float = 60.0,
        bucket: float = 0.1,
    ):
        self.redis = redis_client
        self.rate = rate
        self.key_prefix = key_prefix
        # How long measured_rate() can look back; also how long the `sent` hash outlives activity.
        self.retention = float(retention)
        self.bucket = float(bucket)
        self._reserve = redis_client.register_script(_RESERVE)
        self._measure = redis_client.register_script(_MEASURE)
        self._next_free = redis_client.register_script(_NEXT_FREE)

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        value = float(value or 0)
        if math.isnan(value):
            raise ValueError("rate must be a number")
        self._rate = max(value, 0.0)

    def keys(self, sender: str) -> tuple[str, str]:
        if not sender:
            raise ValueError("sender is required")
        base = f"{self.key_prefix}:{{{sender}}}"
        return f"{base}:tat", f"{base}:sent"

    def reserve(self, sender: str, segments: int = 1, max_wait: float = 5.0) -> float | None:
        """Reserve `segments` slots; return the seconds to wait before sending (0.0 = now).

        If the wait would exceed `max_wait`, nothing is reserved and None is returned: re-queue
        the task with a countdown (see next_free_in) rather than hold a worker thread.
        A gateway request costs at least one slot, so segments < 1 counts as 1.
        """
        segments = max(int(segments), 1)
        interval_us = _US / self._rate if self._rate > 0 else 0
        bucket_us = self.bucket * _US
        retention_us = self.retention * _US
        max_wait_us = max(float(max_wait), 0.0) * _US
        # Trim the bucket hash once it holds twice what retention plus the horizon needs.
        trim_at = 2 * math.ceil((self.retention + max(float(max_wait), 0.0)) / self.bucket) + 16
        accepted, wait_us = self._reserve(
            keys=self.keys(sender),
            args=[repr(interval_us), segments, repr(max_wait_us), repr(bucket_us),
                  repr(retention_us), trim_at],
        )
        if not accepted:
            return None
        return int(wait_us) / _US

    def measured_rate(self, sender: str, window: float = 10.0) -> float:
        """Segments per second scheduled to be sent during the last `window` seconds.

        Counts reservations by their scheduled send time, in whole 0.1 s buckets that lie in the
        past, so reservations still waiting for their slot are not counted yet. `window` is capped
        at `retention`.
        """
        window = min(max(float(window), self.bucket), self.retention)
        total, count = self._measure(
            keys=[self.keys(sender)[1]], args=[repr(window * _US), repr(self.bucket * _US)]
        )
        return int(total) / (int(count) * self.bucket)

    def next_free_in(self, sender: str) -> float:
        """Seconds until the sender's next free slot (0.0 when it could send now)."""
        return int(self._next_free(keys=[self.keys(sender)[0]])) / _US
