"""Notices: compose, approve, schedule and broadcast to deputies (issue 4).

models.py (Notice, Setting), workflow.py (state transitions), rendering.py (placeholders,
signature, reply instruction, segments), audience.py (who gets it), dispatch.py (materialise
messages, quiet hours, completion, cancel), settings.py (admin switches).
"""
