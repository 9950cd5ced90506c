# syntax=docker/dockerfile:1
# Multi-stage build: a static orbd binary on an empty base, non-root.
#   docker build -t orbd .
#   docker run --rm --network host -v $PWD/agent.yaml:/etc/orbd/agent.yaml:ro \
#     -v orbd-state:/var/lib/orbd -e DIODE_CLIENT_ID -e DIODE_CLIENT_SECRET orbd
ARG GO_VERSION=1.26.8
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.0.0-dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/orbd ./cmd/orbd \
 && mkdir -p /out/rootfs/etc/orbd /out/rootfs/var/lib /out/rootfs/tmp /out/state \
 && chmod 1777 /out/rootfs/tmp

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/orbd /usr/local/bin/orbd
# COPY of a directory copies its contents, not the directory's own mode
# (buildah made /tmp 0755): copy a tree whose entries carry their modes.
COPY --from=build /out/rootfs/ /
# A new destination gets the --chown; /var and /var/lib stay root's.
COPY --from=build --chown=65532:65532 /out/state /var/lib/orbd
USER 65532:65532
VOLUME ["/var/lib/orbd"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/orbd"]
CMD ["run", "-c", "/etc/orbd/agent.yaml", "--log-format", "json"]
