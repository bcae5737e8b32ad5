# registry-admin: one image for the three services of docker-compose.yml, which differ only in
# their command: `web` (gunicorn on :8000), `worker` (Celery), `beat` (Celery beat).
#
#   docker build -t registry-admin .
#
# BASE_IMAGE must provide python3 (the Python minor version the tests run on, 3.11) with the
# venv module, and useradd. `make deploy-test` builds one offline from Debian's packages and
# passes it here, since no base image can be pulled on the machines the tests run on.
# The classic builder and BuildKit both build this file (no BuildKit-only syntax).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles \
    PORT=8000
# Metadata first: each instruction is a layer, and on small parents they cost the least.
WORKDIR /app
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]

# The services run as `app` (uid/gid 1000), never as root. The code stays owned by root, so the
# services cannot change it; only DATA_DIR (the database and the secret key) is theirs. DATA_DIR
# is bind-mounted by docker-compose.yml; no VOLUME here, whose anonymous volume would keep the
# database where no backup looks when the mount is forgotten.
COPY requirements.txt /app/requirements.txt
RUN groupadd --gid 1000 app \
 && useradd --uid 1000 --gid 1000 --home-dir /data --no-create-home --shell /usr/sbin/nologin app \
 && mkdir -p /data && chown app:app /data \
 && python3 -m venv /opt/venv \
 && pip install --no-cache-dir --disable-pip-version-check --no-input -r /app/requirements.txt

COPY . /app
# Settings only read REDIS_URL and REGISTRY_URL; nothing is contacted at import, so static files
# are collected here. The throwaway key and data dir keep a secret from being baked into a layer.
RUN DJANGO_SECRET_KEY=collectstatic-only DATA_DIR=/tmp/build-data python manage.py collectstatic --noinput -v 0 \
 && rm -rf /tmp/build-data \
 && chmod 0755 /app/deploy/entrypoint.sh /app/deploy/healthcheck.py

USER app
