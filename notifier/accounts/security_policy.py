"""The security policy in force: the settings' figures (PASSWORD_*, LOCKOUT_*), as changed by
the security administrator (stored in the settings table, audited). No change goes under the
floors below, whoever asks: they are what MLPS 2.0 level 3 expects at the least."""
from notifier.notices.settings import read_setting, write_setting

KEY = "security_policy"
# field: (lowest allowed, highest allowed)
BOUNDS = {
    "min_length": (8, 64),
    "min_classes": (2, 4),
    "history": (1, 24),
    "max_age_days": (0, 365),  # 0: passwords do not expire
    "lockout_attempts": (3, 10),
    "lockout_minutes": (5, 24 * 60),
}


def clamp(field, value):
    low, high = BOUNDS[field]
    return min(max(int(value), low), high)


def current_policy():
    from notifier.accounts.passwords import config_defaults

    stored = read_setting(KEY, None)
    merged = dict(config_defaults())
    if isinstance(stored, dict):
        merged.update({k: v for k, v in stored.items() if k in BOUNDS})
    return {field: clamp(field, value) for field, value in merged.items()}


def set_policy(values, actor):
    """Store the security administrator's choice (clamped to the bounds); audited."""
    old = current_policy()
    new = {field: clamp(field, values.get(field, old[field])) for field in BOUNDS}
    write_setting(KEY, new, old, actor)
    return new
