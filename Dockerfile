# vibe in a container. `docker build -t vibe .` then:
#   docker run -p 3000:3000 -e SLACK_SIGNING_SECRET=… -e SLACK_BOT_TOKEN=xoxb-… -v vibe:/data vibe
#   docker run --rm vibe demo          (the demo, no accounts or tokens)
# The server listens on 0.0.0.0:3000 inside the container (VIBE_SERVER__LISTEN); publish that
# port. The SQLite database lives on the /data volume; set DATABASE_URL to use PostgreSQL.

# Build stage, on a pinned toolchain.
FROM rust:1.95.0-bookworm AS build
WORKDIR /src
# Dependencies first, in a layer of their own: it is rebuilt only when Cargo.toml or
# Cargo.lock change, not on every change to vibe's sources.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src bench \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' | tee bench/axum_hello.rs bench/load.rs >/dev/null \
    && cargo build --release --locked --bin vibe \
    && rm -rf src bench target/release/.fingerprint/vibe-* target/release/deps/vibe-* target/release/deps/libvibe-*
# Then vibe itself: the sources and what they embed at compile time.
COPY src ./src
COPY migrations ./migrations
COPY config ./config
COPY assets ./assets
COPY bench/axum_hello.rs bench/load.rs ./bench/
RUN cargo build --release --locked --bin vibe

# Runtime stage: a small pinned Debian with CA certificates (TLS to Slack and the platforms).
FROM debian:12.12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /app --uid 10001 vibe \
    && mkdir -p /data && chown vibe /data
WORKDIR /app
COPY --from=build /src/target/release/vibe /usr/local/bin/vibe
USER vibe
# The embedded database lives on a volume; set DATABASE_URL to use PostgreSQL instead.
ENV VIBE_DATABASE__URL=sqlite:///data/vibe.db \
    VIBE_SERVER__LISTEN=0.0.0.0:3000 \
    VIBE_LOG__LEVEL=info
VOLUME ["/data"]
EXPOSE 3000
# Liveness: the server answers /healthz (vibe's own probe; the image has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["vibe", "health", "--live", "127.0.0.1:3000"]
ENTRYPOINT ["vibe"]
CMD ["serve"]
