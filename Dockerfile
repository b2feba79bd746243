# syntax=docker/dockerfile:1
#
# baocao's image: `docker build -t baocao .` from the repository root.
#
# Three stages: `planner` reduces the workspace to its manifests (cargo-chef), `build` compiles
# the dependencies from that recipe alone, so that the layer holding them is rebuilt only when
# Cargo.toml/Cargo.lock change, then compiles baocao; the runtime image holds the binary and
# nothing else (distroless: glibc, libgcc, CA certificates, user nonroot 65532).
# No database is needed to build: .cargo/config.toml sets SQLX_OFFLINE=true and the query data
# is committed in .sqlx/.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS chef
ARG CARGO_CHEF_VERSION=0.1.78
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
COPY .cargo .cargo
RUN cargo chef cook --release --locked -p baocao --recipe-path recipe.json
# Then the sources (what .dockerignore lets into the context: the crates and what they embed
# at compile time, such as migrations, query data, templates, fonts and dashboard assets).
COPY . .
RUN cargo build --release --locked -p baocao \
    && install -D -m 0755 target/release/baocao /out/baocao

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="baocao" \
      org.opencontainers.image.description="Monthly digital-transformation report of a Vietnamese ward, from its e-office and public-service portal events" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"
COPY --from=build /out/baocao /usr/local/bin/baocao
# Numeric, so that Kubernetes can check runAsNonRoot.
USER 65532:65532
EXPOSE 8080
# Every target listens on BAOCAO_HTTP_ADDR (default 127.0.0.1:8080, unreachable from outside
# the container): set BAOCAO_HTTP_ADDR=0.0.0.0:8080, with BAOCAO_ADMIN_TOKEN for the api.
ENTRYPOINT ["/usr/local/bin/baocao"]
CMD ["run", "--target", "all"]
