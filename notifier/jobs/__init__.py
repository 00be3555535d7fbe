"""Background jobs (issue 15): long work (a large roster import, a large export) leaves the web
request. A job is a row (the truth); a Celery task carries its id and runs it; a periodic sweep
takes up jobs whose worker died and removes result files after their retention."""
