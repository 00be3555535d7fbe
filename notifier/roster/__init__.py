"""The deputy roster: deputies, levels, tags, phone numbers, import/export, audience queries."""
