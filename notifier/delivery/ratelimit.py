"""One rate limiter for the whole cluster: segments per second per sender, kept in Redis.

Celery's `rate_limit` is per worker process; the gateway counts what every worker on every machine
sends, so the pace lives in Redis and every reservation is one atomic Lua script.

Algorithm: GCRA (virtual scheduling) with no burst allowance. Each sender has a theoretical arrival
time `tat`; a reservation of n segments is scheduled at `start = max(tat, now)` and moves `tat` to
`start + n / rate`. Sends are therefore evenly spaced, and a one-second window holds at most `rate`
segments plus those of the one message on its boundary. Time is Redis server time (`TIME`), so the
clocks of worker machines do not matter; callers only receive a relative wait.

The gateway has the last word on the pace (AIMD, as TCP does with a congested link): `rate` is the
configured ceiling, and the rate actually used is an *effective* rate per sender, kept in Redis
beside the schedule so that every worker obeys the same one:
  - a "slow down" answer (HTTP 429 and the like) cuts it: `throttled()` multiplies it by
    `backoff`, at most once per `cut_interval` (the 429s of requests already in flight, sent at
    the old pace, are the same news and count once). The cut also voids the schedule: slots
    handed out at the old pace are void, and their holders (who see a new `generation`) take
    fresh ones rather than fire in a burst the gateway has just refused;
  - accepted segments raise it again, additively: `succeeded(n)` adds
    (1 - backoff) * peak / recovery * n / rate, i.e. while sending at full pace it climbs back to
    the rate it was cut from (`peak`) in about `recovery` seconds, and never above the ceiling.
    Only while the pace is in use (someone waits for a slot): a rate nobody fills proves nothing.
So against a gateway capped below the configured rate it settles in a sawtooth just under the
cap, and against one that stops refusing it returns to the configured rate.

Keys (all share the `{sender}` hash tag, so the scripts also work on Redis Cluster):
    <prefix>:{<sender>}:tat    the next free slot (µs since the epoch); expires when it passes
    <prefix>:{<sender>}:sent   hash: 0.1 s bucket of the scheduled send time -> segments;
                               expires `retention` seconds after the last scheduled send
    <prefix>:{<sender>}:aimd   hash: rate (effective), peak, cut (µs of the last cut), gen (cuts
                               so far); only after a throttle; expires `memory` seconds after the
                               last change
An idle sender therefore leaves nothing behind.
"""
import math
import time
from collections import namedtuple

from notifier.gateways.base import ACCEPTED, PACED, THROTTLED

# The effective rate, shared by the scripts below: the configured ceiling (0 = unlimited) lowered
# by what the gateway taught us (the `aimd` hash), and the generation of the schedule.
_EFFECTIVE = """
local function effective(key, ceiling)
  local st = redis.call('HMGET', key, 'rate', 'gen', 'peak', 'cut')
  local rate, gen = ceiling, tonumber(st[2]) or 0
  local learned = tonumber(st[1])
  if learned then
    if ceiling > 0 then rate = math.min(ceiling, learned) else rate = learned end
  end
  return rate, gen, tonumber(st[3]), tonumber(st[4]), learned
end
"""

# KEYS: tat, sent, aimd. ARGV: ceiling segments/s (0 = unlimited), segments, max wait µs,
# bucket µs, retention µs, trim threshold (fields).
# Returns {1, wait µs, generation} when reserved, {0, wait µs it would have been, generation}.
_RESERVE = _EFFECTIVE + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate, gen = effective(KEYS[3], tonumber(ARGV[1]))
local interval = 0
if rate > 0 then interval = 1000000 / rate end
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
    return {0, math.ceil(start - now), gen}
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
return {1, math.ceil(start - now), gen}
"""

# KEYS: aimd, tat, sent. ARGV: ceiling, backoff, cut interval µs, floor, memory ms, bucket µs.
# Returns {1 if it cut now else 0, effective rate as a string, generation}.
_THROTTLED = _EFFECTIVE + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ceiling = tonumber(ARGV[1])
local rate, gen, peak, cut = effective(KEYS[1], ceiling)
if cut and now - cut < tonumber(ARGV[3]) then
  return {0, string.format('%.6f', rate), gen}
end
if rate <= 0 then
  -- Unlimited so far: start from the pace of the last second, as scheduled.
  local bucket_us = tonumber(ARGV[6])
  local last = math.floor(now / bucket_us)
  local total = 0
  for b = last - 9, last do
    total = total + (tonumber(redis.call('HGET', KEYS[3], string.format('%d', b))) or 0)
  end
  rate = math.max(total / (10 * bucket_us / 1000000), tonumber(ARGV[4]))
end
local new = math.max(tonumber(ARGV[4]), rate * tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'rate', string.format('%.6f', new), 'peak', string.format('%.6f', rate),
           'cut', string.format('%d', now), 'gen', gen + 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
-- The slots handed out at the old pace are void; their holders see the new generation.
redis.call('DEL', KEYS[2])
return {1, string.format('%.6f', new), gen + 1}
"""

# KEYS: aimd, tat. ARGV: ceiling, segments accepted, backoff, recovery seconds, memory ms.
# Returns the effective rate as a string.
_SUCCEEDED = _EFFECTIVE + """
local ceiling = tonumber(ARGV[1])
local rate, gen, peak, cut, learned = effective(KEYS[1], ceiling)
if not learned then return string.format('%.6f', rate) end
-- Only a pace that is in use is raised: with nobody waiting for a slot the limiter is not what
-- holds the texts back, and climbing then would only find the gateway's limit by a burst later.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[2]))
if not tat or tat <= now then return string.format('%.6f', rate) end
peak = peak or rate
local step = (1 - tonumber(ARGV[3])) * peak / tonumber(ARGV[4])
local new = rate + step * tonumber(ARGV[2]) / math.max(rate, 0.001)
if ceiling > 0 then new = math.min(new, ceiling) end
redis.call('HSET', KEYS[1], 'rate', string.format('%.6f', new))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
return string.format('%.6f', new)
"""

# KEYS: aimd. ARGV: ceiling. Returns {effective rate as a string, generation}.
_STATE = _EFFECTIVE + """
local rate, gen = effective(KEYS[1], tonumber(ARGV[1]))
return {string.format('%.6f', rate), gen}
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

Slot = namedtuple("Slot", "wait generation")  # seconds to wait; the schedule it belongs to


class SegmentRateLimiter:
    """reserve() before each gateway call; sleep the returned wait, or re-queue on None.

    `rate` is the configured ceiling, segments per second per sender, shared by every process
    using the same Redis and prefix; `rate <= 0` means unlimited (until a gateway says otherwise).
    Assigning `limiter.rate` (or building a new limiter with another rate) applies from the next
    reservation; slots already handed out stay as they were.

    Tell it what the gateway answered: `throttled(sender)` on a "slow down", `succeeded(sender, n)`
    for accepted segments (see the module's docstring for the rule).
    """

    def __init__(
        self,
        redis_client,
        rate: float,
        key_prefix: str = "notifier:rate",
        *,
        retention: float = 60.0,
        bucket: float = 0.1,
        backoff: float = 0.7,
        recovery: float = 10.0,
        cut_interval: float = 1.0,
        floor: float = 0.1,
        memory: float = 3600.0,
    ):
        self.redis = redis_client
        self.rate = rate
        self.key_prefix = key_prefix
        # How long measured_rate() can look back; also how long the `sent` hash outlives activity.
        self.retention = float(retention)
        self.bucket = float(bucket)
        if not 0 < float(backoff) < 1:
            raise ValueError("backoff must be between 0 and 1")
        if float(recovery) <= 0 or float(floor) <= 0:
            raise ValueError("recovery and floor must be positive")
        self.backoff, self.recovery = float(backoff), float(recovery)
        self.cut_interval, self.floor, self.memory = float(cut_interval), float(floor), float(memory)
        self._generations = {}  # sender -> (read at, generation): a per-process glance, see generation()
        self._reserve = redis_client.register_script(_RESERVE)
        self._throttled = redis_client.register_script(_THROTTLED)
        self._succeeded = redis_client.register_script(_SUCCEEDED)
        self._state = redis_client.register_script(_STATE)
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
        """The schedule's keys: (tat, sent)."""
        return self._keys(sender)[:2]

    def state_key(self, sender: str) -> str:
        """The key of what the gateway taught the limiter (the `aimd` hash)."""
        return self._keys(sender)[2]

    def _keys(self, sender):
        if not sender:
            raise ValueError("sender is required")
        base = f"{self.key_prefix}:{{{sender}}}"
        return f"{base}:tat", f"{base}:sent", f"{base}:aimd"

    def reserve(self, sender: str, segments: int = 1, max_wait: float = 5.0) -> float | None:
        """Reserve `segments` slots; return the seconds to wait before sending (0.0 = now).

        If the wait would exceed `max_wait`, nothing is reserved and None is returned: re-queue
        the task with a countdown (see next_free_in) rather than hold a worker thread.
        A gateway request costs at least one slot, so segments < 1 counts as 1.
        """
        slot = self.reserve_slot(sender, segments, max_wait)
        return None if slot is None else slot.wait

    def reserve_slot(self, sender: str, segments: int = 1, max_wait: float = 5.0) -> Slot | None:
        """As reserve(), with the generation of the schedule the slot belongs to: when
        generation(sender) has moved past it, the slot is void (the pace was cut meanwhile)."""
        return self.reserve_slots(sender, [segments], max_wait)[0]

    def reserve_slots(self, sender: str, segment_counts, max_wait: float = 5.0) -> list[Slot | None]:
        """reserve_slot() for each of a batch's texts, in order, in one round trip to Redis (a
        pipeline of the same script). Once one is refused every later one is too: a refusal
        leaves the schedule as it was, and the schedule only moves forward."""
        keys = self._keys(sender)
        bucket_us = repr(self.bucket * _US)
        retention_us = repr(self.retention * _US)
        max_wait_us = repr(max(float(max_wait), 0.0) * _US)
        # Trim the bucket hash once it holds twice what retention plus the horizon needs.
        trim_at = 2 * math.ceil((self.retention + max(float(max_wait), 0.0)) / self.bucket) + 16
        pipe = self.redis.pipeline(transaction=False)
        for segments in segment_counts:
            self._reserve(keys=keys, args=[repr(self._rate), max(int(segments), 1), max_wait_us, bucket_us,
                                           retention_us, trim_at], client=pipe)
        slots = []
        for accepted, wait_us, generation in pipe.execute():
            self._generations[sender] = (time.monotonic(), int(generation))
            slots.append(Slot(int(wait_us) / _US, int(generation)) if accepted else None)
        return slots

    def throttled(self, sender: str) -> float:
        """The gateway said "slow down": cut the effective rate (once per cut_interval) and void
        the slots handed out at the old pace. Returns the effective rate now."""
        tat, sent, aimd = self._keys(sender)
        _, rate, generation = self._throttled(
            keys=[aimd, tat, sent],
            args=[repr(self._rate), repr(self.backoff), repr(self.cut_interval * _US), repr(self.floor),
                  int(self.memory * 1000), repr(self.bucket * _US)],
        )
        self._generations[sender] = (time.monotonic(), int(generation))
        return float(rate)

    def succeeded(self, sender: str, segments: int) -> float:
        """The gateway accepted `segments`: raise the effective rate a little while the schedule
        is full (see the module's docstring). Returns the effective rate now."""
        if segments <= 0:
            return self.effective_rate(sender)
        return float(self._succeeded(
            keys=[self.state_key(sender), self.keys(sender)[0]],
            args=[repr(self._rate), int(segments), repr(self.backoff), repr(self.recovery), int(self.memory * 1000)],
        ))

    def effective_rate(self, sender: str) -> float:
        """Segments per second this sender is paced at now (0.0 = unlimited)."""
        rate, _ = self._state(keys=[self.state_key(sender)], args=[repr(self._rate)])
        return float(rate)

    def generation(self, sender: str, max_age: float = 0.1) -> int:
        """The schedule's generation (how many cuts so far), read from Redis at most every
        `max_age` seconds per process: a send about to fire asks this, and a Redis round trip
        per text would cost more than the few texts a tenth of a second lets through."""
        seen = self._generations.get(sender)
        if seen is not None and time.monotonic() - seen[0] < max_age:
            return seen[1]
        _, generation = self._state(keys=[self.state_key(sender)], args=[repr(self._rate)])
        self._generations[sender] = (time.monotonic(), int(generation))
        return int(generation)

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


class Pacer:
    """One batch's texts, kept in step with the limiter while they wait for their slots.

    Hand it to the gateway's send_many as `repace` (called when a text wakes for its slot) and
    `on_result` (called as each answer arrives), then call `settle()`:
      - a text whose slot is void (the pace was cut since it was reserved) takes a fresh slot;
        if that is further off than `max_wait`, it goes back to the queue unsent. One that woke
        late (a stalled process) takes the next free slot rather than go in a burst;
      - the first "slow down" answer cuts the pace for everyone at once, not at the end of the
        batch; accepted segments are counted and reported once, by settle().
    One Pacer serves one batch on one event loop; it is not shared between threads.
    """

    def __init__(self, limiter, sender, max_wait, late_tolerance=0.1):
        self.limiter, self.sender, self.max_wait = limiter, sender, float(max_wait)
        self.late_tolerance = late_tolerance
        self._slots = {}  # message id -> (due, generation, segments); due in time.monotonic()
        self.accepted_segments = self.throttles = self.repaced = self.returned = 0

    def reserve(self, message_id, segments, max_wait=None):
        """A slot for one text: the seconds to wait, or None when it is further off than max_wait
        (default: the pacer's)."""
        slot = self.limiter.reserve_slot(self.sender, segments, max_wait=self.max_wait if max_wait is None else max_wait)
        if slot is None:
            return None
        self._slots[message_id] = (time.monotonic() + slot.wait, slot.generation, segments)
        if slot.wait > 0:
            from notifier.ops import counters

            counters.limiter_wait(self.sender, slot.wait)  # for /metrics
        return slot.wait

    def reserve_many(self, batch):
        """Slots for (message_id, segments) pairs in one round trip: the ids reserved, in order,
        up to the first that is further off than max_wait (that one and the rest: not reserved)."""
        batch = list(batch)
        now = time.monotonic()
        reserved = []
        for (message_id, segments), slot in zip(batch, self.limiter.reserve_slots(
                self.sender, [segments for _, segments in batch], max_wait=self.max_wait), strict=True):
            if slot is None:
                break
            self._slots[message_id] = (now + slot.wait, slot.generation, segments)
            reserved.append(message_id)
        waits = [self._slots[mid][0] - now for mid in reserved if self._slots[mid][0] > now]
        if waits:
            from notifier.ops import counters

            counters.limiter_wait(self.sender, sum(waits), len(waits))  # for /metrics
        return reserved

    def delay(self, message_id):
        """Seconds from now to the text's slot."""
        return max(0.0, self._slots[message_id][0] - time.monotonic())

    def __call__(self, item):
        """repace: seconds more to wait before sending `item` (0.0: now), or None: not now."""
        due, generation, segments = self._slots[item.message_id]
        void = generation < self.limiter.generation(self.sender)
        if not void and time.monotonic() - due <= self.late_tolerance:
            return 0.0
        self.repaced += 1
        # A void slot was handed out at a pace the gateway refused: if the new pace has no room
        # soon, the text goes back to the queue. A late one (a stall) only lost its turn: it
        # takes the next free slot, however far, as it holds its claim already.
        wait = self.reserve(item.message_id, segments, max_wait=None if void else 3600.0)
        if wait is None:
            self.returned += 1
        return wait

    def on_result(self, item, result):
        if result.outcome == THROTTLED and result.error_code != PACED and not result.recipient_limit:
            self.throttles += 1
            self.limiter.throttled(self.sender)
        elif result.outcome == ACCEPTED:
            self.accepted_segments += self._slots[item.message_id][2]

    def settle(self):
        """Report the accepted segments (raises the pace); returns the effective rate."""
        return self.limiter.succeeded(self.sender, self.accepted_segments)
