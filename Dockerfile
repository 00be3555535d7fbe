# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NOTIFIER_ENV=production
WORKDIR /app
COPY setup.cfg pyproject.toml README.md ./
COPY notifier ./notifier
COPY workers ./workers
COPY config ./config
# The translation catalogues are compiled here: the installed package is read-only to the app.
RUN pip install --no-cache-dir '.[production]' \
    && python -c 'from notifier.catalogues import compile_packaged; compile_packaged()' \
    && useradd --system --home /app notifier
USER notifier
EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.py", "notifier.wsgi:app"]
