# The checkout as a container: small, non-root, pinned dependencies, with a health check.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY checkout ./checkout
COPY templates ./templates
COPY static ./static
RUN useradd --system --uid 10001 --home /app checkout \
 && mkdir -p /app/var && chown checkout /app/var
USER checkout
# The code runs from /app (templates and static files sit beside the package); data (SQLite,
# sandbox keys) lives in /app/var: mount a volume there. Set CHECKOUT_PUBLIC_URL to the URL
# buyers reach; the sandbox calls itself there too.
ENV PYTHONPATH=/app CHECKOUT_HOST=0.0.0.0 CHECKOUT_DATA_DIR=/app/var \
    CHECKOUT_PUBLIC_URL=http://localhost:8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["python", "-m", "checkout.cli", "serve"]
