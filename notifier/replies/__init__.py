"""Replies (issue 5): inbound texts, what they mean, which notice they answer, tallies, reminders
and conversations with deputies."""
