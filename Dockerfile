# syntax=docker/dockerfile:1
# BuildKit syntax: needed for the cache mounts below.

# ---- Stage 1: build ----
FROM rust:1.95-bookworm AS build
# libpq-dev: diesel's postgres backend links against libpq (SQLite is bundled).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole workspace must be present for Cargo to resolve it; demo/ is read
# at compile time by include_str!("../../demo/seed.json") in api/src/startup.rs.
COPY Cargo.toml Cargo.lock ./
COPY domain ./domain
COPY persistence ./persistence
COPY integrations ./integrations
COPY notifications ./notifications
COPY api ./api
COPY tests ./tests
COPY bench ./bench
COPY demo ./demo
COPY config ./config
# Cache mounts keep the registry and build artefacts between builds; target/
# is a cache mount, so the binary is copied out of it within the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p eservices-api \
    && cp target/release/eservices /usr/local/bin/eservices

# ---- Stage 2: runtime ----
FROM debian:bookworm-slim
# libpq5: runtime libpq; ca-certificates: TLS to a remote database.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# Unprivileged user with a fixed uid so volume ownership is predictable.
RUN groupadd --system --gid 10001 eservices \
    && useradd --system --uid 10001 --gid eservices --no-create-home \
       --home-dir /var/lib/eservices --shell /usr/sbin/nologin eservices \
    && mkdir -p /var/lib/eservices \
    && chown eservices:eservices /var/lib/eservices
COPY --from=build /usr/local/bin/eservices /usr/local/bin/eservices
# Data directory (development key pair, SQLite fallback); owned by the user so
# a fresh named volume mounted here inherits that ownership.
WORKDIR /var/lib/eservices
# Listen on all interfaces inside the container (the app defaults to 127.0.0.1).
# Production by default: an image listening on all interfaces must not offer development tokens.
# It then needs DATABASE_URL, JWT_PUBLIC_KEY_FILE, JWT_ISSUER, JWT_AUDIENCE and DOCUMENT_LINK_SECRET.
ENV APP_MODE=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/var/lib/eservices
EXPOSE 8080
USER eservices
# The slim image has no curl: the binary asks its own /health/ready.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 CMD ["eservices", "probe"]
ENTRYPOINT ["eservices"]
CMD ["serve"]
