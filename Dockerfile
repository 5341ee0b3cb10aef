# splitledger-server in a small image: built with scripts/build-release (cargo build
# --release --locked), run as a non-root user on Debian slim.
#
#   docker build -t splitledger .
#   docker run -p 8080:8080 -v splitledger:/var/lib/splitledger splitledger
#
# With nothing else set it keeps its data in an SQLite file under /var/lib/splitledger;
# set DATABASE_URL=postgres://... for PostgreSQL (see compose.yaml and README "Deploying").

FROM rust:1.95-slim-trixie AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target folder between builds; the binary is copied
# out because the target folder is not part of the image layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    scripts/build-release \
    && cp target/release/splitledger-server /usr/local/bin/splitledger-server

FROM debian:trixie-slim
# curl only for the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/splitledger splitledger \
    && mkdir -p /var/lib/splitledger/files \
    && chown -R splitledger:splitledger /var/lib/splitledger
COPY --from=build /usr/local/bin/splitledger-server /usr/local/bin/splitledger-server
USER splitledger:splitledger
WORKDIR /var/lib/splitledger
ENV BIND=0.0.0.0:8080 \
    LOG_FORMAT=json \
    FILES_URL=file:///var/lib/splitledger/files
EXPOSE 8080
VOLUME ["/var/lib/splitledger"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["splitledger-server"]
