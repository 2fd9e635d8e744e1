# coracle in a container, for throwaway clusters in CI:
#   docker build -t coracle . && docker run --privileged -p 6443:6443 coracle
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin coracle

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/coracle /usr/local/bin/coracle
VOLUME /var/lib/coracle
EXPOSE 6443
ENTRYPOINT ["/usr/local/bin/coracle", "server"]
CMD ["--disable-agent"]
