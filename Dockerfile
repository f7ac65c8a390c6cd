# The checkout as a container: small, non-root, pinned, with a health check.
#
#   docker build -t tpay-checkout .
#   docker run -p 127.0.0.1:8000:8000 -e CHECKOUT_SANDBOX_PUBLIC=1 -v checkout-data:/app/var \
#     tpay-checkout                                                           # the sandbox
#
# Production: CHECKOUT_MODE=production, DATABASE_URL=postgresql://…, the acquirer's variables
# (README, "Configuration"). Run any number of containers against one PostgreSQL behind a load
# balancer; each runs the migrations at start (under a lock), or run `checkout migrate` first.
# Point the balancer's readiness check at /readyz; Docker's health check uses /healthz.

# ---- build: install the pinned dependencies into a virtualenv --------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements.lock /tmp/requirements.lock
RUN /venv/bin/pip install --no-compile --require-hashes -r /tmp/requirements.lock \
 && find /venv -name '__pycache__' -prune -exec rm -rf {} +

# ---- run: the virtualenv, the templates and static files, nothing else -----------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH
RUN useradd --system --uid 10001 --no-create-home --home-dir /app checkout \
 && mkdir -p /app/var && chown checkout /app/var
COPY --from=build /venv /venv
WORKDIR /app
# The code runs from /app: templates and static files sit beside the package, as in a clone.
COPY checkout ./checkout
COPY templates ./templates
COPY static ./static
# Unconfigured, the image is the sandbox, which refuses to listen beyond loopback (it serves
# its emulated bank's private key and a demo owner with a public password) until it is asked
# to with CHECKOUT_SANDBOX_PUBLIC=1; then publish the port on the host's loopback only. It
# says so in its log, loudly. Production sets CHECKOUT_MODE=production, an https
# CHECKOUT_PUBLIC_URL and CHECKOUT_FORWARDED_ALLOW_IPS (the balancers' addresses, or direct).
ENV PYTHONPATH=/app CHECKOUT_HOST=0.0.0.0 CHECKOUT_DATA_DIR=/app/var \
    CHECKOUT_MODE=sandbox CHECKOUT_PUBLIC_URL=http://localhost:8000
USER 10001
EXPOSE 8000
# Liveness only (no database): a slow database must not get healthy containers restarted.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# SIGTERM (docker stop): stop taking connections, finish in-flight requests and webhook
# deliveries (CHECKOUT_SHUTDOWN_GRACE_SECONDS, 20 s), give back claimed jobs, exit.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "checkout.cli", "serve"]
