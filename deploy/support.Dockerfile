# syntax=docker/dockerfile:1
# Image of the support service. Build from the workspace root:
#   docker build -f deploy/support.Dockerfile -t dk-support:dev .

FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
# Cargo loads every workspace member's manifest, so all members are copied, not only dk-support.
COPY Cargo.toml Cargo.lock ./
COPY proto proto
COPY crates crates
COPY services services
COPY tests tests
COPY tools tools
# scripts/check-deploy.sh runs the cargo build line below with the same flags: keep it on one line.
RUN --mount=type=cache,id=cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=dk-target,target=/src/target,sharing=locked \
    cargo build --release --locked -p dk-support --bin dk-support \
    && install -D -m 0755 target/release/dk-support /out/dk-support

# Debian 12 like the builder, so the runtime has the glibc that the binary links against. The
# image also carries the CA certificates that rustls reads for the bank APIs and amqps.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/dk-support /usr/local/bin/dk-support
USER 65532:65532
EXPOSE 50064
ENTRYPOINT ["/usr/local/bin/dk-support"]
