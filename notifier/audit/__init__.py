"""The audit trail: who did what, when, from where. Append-only."""
