"""Delivery logs, notice reports, the overview dashboard, exports and retention (issue 6).

Plain domain functions over the delivery and notice tables; the pages (notifier/web/report_views.py),
the API (notifier/api/reports.py) and the periodic task (workers/report_tasks.py) call them.
"""
