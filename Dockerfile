# The playground API: uvicorn on port 8000, as a non-root user.
#
#   docker build -t playground .
#   docker run -p 8000:8000 -e DATABASE_URL=postgresql://... playground
#
# Without DATABASE_URL the app starts its embedded Postgres under the user's data dir
# (inside the container); docker-compose.yml runs a real Postgres next to it instead.
FROM python:3.11-slim

ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

# Bytecode compiled at install time (faster start), packages copied rather than
# hard-linked from a cache that is not kept, and the image's Python used as is.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1 \
    PYTHONUNBUFFERED=1

# Everything below runs as "app", so the project and its .venv belong to it.
RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin app \
    && mkdir /app && chown app:app /app
WORKDIR /app
USER app

# Dependencies first, in their own layer: it is reused until pyproject.toml or uv.lock change.
COPY --chown=app:app pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY --chown=app:app . .
RUN uv sync --frozen --no-dev

EXPOSE 8000
CMD ["uv", "run", "--no-sync", "playground", "serve", "--host", "0.0.0.0", "--port", "8000"]
