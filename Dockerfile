# The image behind the jupyterlab and node services of docker-compose.yml.
FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY liveexec ./liveexec
COPY migrations ./migrations
RUN pip install --no-cache-dir -c requirements.lock ".[notebook]"
