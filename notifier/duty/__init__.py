"""Deputy duty work (代表履职): meeting attendance, deputies' suggestions (代表建议) and the duty
record (履职档案). Groups live with the roster (notifier.roster.groups)."""
