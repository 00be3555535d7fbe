"""Outbound SMS: message rows (the outbox), the gateway interface and its Twilio adapter, sending
with exactly-once claims, reconciliation, the sweeper and status callbacks."""
