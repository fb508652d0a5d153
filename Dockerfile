# syntax=docker/dockerfile:1
# Berth's headless service: `berth serve` with its HTTP API on port 8080.
#
#   docker build -t berth:0.1.0 .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=postgres://... \
#     -e PLATFORM_PRIORITY=k8s -e K8S_BOT_LIMIT=50 berth:0.1.0
#
# Not built on the machine Berth is developed on (it has no container
# engine); tests/tests/deploy_manifests.rs checks the command, user and port
# below against deploy/kubernetes/berth.yaml.

# Build: the `berth` CLI only (no desktop shell, no web UI, no WebKitGTK).
FROM rust:1.94-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p berth \
    && cp target/release/berth /usr/local/bin/berth

# Run: Debian 12 slim, as an unprivileged user with a numeric id (so
# Kubernetes' runAsNonRoot can verify it). TLS goes through rustls with the
# system's CA certificates; no PostgreSQL in the image (DATABASE_URL is
# required: the embedded database is for the desktop).
FROM debian:12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 berth \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/berth --create-home berth
COPY --from=build /usr/local/bin/berth /usr/local/bin/berth
USER 10001:10001
ENV HOME=/home/berth
EXPOSE 8080
# No curl in the image: bash's /dev/tcp asks /healthz. Kubernetes ignores
# this and uses the Deployment's probes (/readyz, /healthz) instead.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["berth"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
