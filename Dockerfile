# Build stage: compile the release binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY config ./config
RUN cargo build --release --locked

# Runtime stage: a small Debian with CA certificates (TLS to Slack and the platforms needs them).
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /app --uid 10001 vibe \
    && mkdir -p /data && chown vibe /data
WORKDIR /app
COPY --from=build /src/target/release/vibe /usr/local/bin/vibe
COPY config ./config
COPY migrations ./migrations
USER vibe
# The embedded database lives on a volume; set DATABASE_URL to use PostgreSQL instead.
ENV VIBE_DATABASE__URL=sqlite:///data/vibe.db
VOLUME ["/data"]
# `vibe serve` becomes the default once the Slack bot ships; until then the demo runs.
CMD ["vibe", "demo"]
