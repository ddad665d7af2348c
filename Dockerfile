# syntax=docker/dockerfile:1
#
# openroom in a container: one Go binary that links Debian's FFmpeg audio libraries
# (libavcodec, libavutil, libswresample) through cgo, so it is built and run on the same
# Debian release (bookworm) and the runtime stage carries only those shared libraries.
#
#   docker build -t openroom .
#   docker run --rm --network host -e OPENROOM_NODE_IP=203.0.113.7 openroom
#
# or `docker compose up` (docker-compose.yml). Ports, host networking, config files,
# TLS and reverse proxies: docs/deploy.md.

# ---- build --------------------------------------------------------------------------
FROM golang:1.26-bookworm AS build

# cgo toolchain and the FFmpeg headers the mini-program bridge's codec package links against.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      gcc pkg-config libavcodec-dev libavutil-dev libswresample-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" -o /out/openroom ./cmd/openroom

# ---- run ----------------------------------------------------------------------------
FROM debian:bookworm-slim

# Only the codec runtime libraries (the same FFmpeg 5.1 sonames the build linked:
# libavcodec.so.59, libavutil.so.57, libswresample.so.4; libopus comes with libavcodec59)
# and CA certificates. No ffmpeg binary, no -dev packages, no compiler.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libavcodec59 libavutil57 libswresample4 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 openroom \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin openroom \
 && mkdir -p /etc/openroom /var/lib/openroom/recordings \
 && chown 10001:10001 /var/lib/openroom/recordings

# Room recordings (record_dir; docs/recording.md): mount a volume here to keep them.
ENV OPENROOM_RECORD_DIR=/var/lib/openroom/recordings

COPY --from=build /out/openroom /usr/local/bin/openroom

# Every default listener is above 1024, so no capability is needed. To bind 443 (turn_tls)
# inside the container see docs/deploy.md.
USER 10001:10001

# HTTP (API, /ws, demo, HTTP-FLV); WebRTC (all ICE on one UDP port); RTMP (mini-program
# bridge); TURN over UDP and TCP; TURN over TLS (only when turn_cert/turn_key are set);
# TURN relay range (used between the relay and the SFU on node_ip; see docs/turn.md).
# EXPOSE only documents: with host networking nothing is published, otherwise publish
# these with the same numbers inside and out.
EXPOSE 8080/tcp 7882/udp 1935/tcp 3478/udp 3478/tcp 5349/tcp 49152-65535/udp

# No CMD: the binary runs on its embedded defaults plus OPENROOM_* variables. A config file
# is opt-in, because `--config FILE` with a missing file is an error: mount one and pass
#   --config /etc/openroom/openroom.yaml
# (docker run ... openroom --config ..., or `command:` in docker-compose.yml).
#
# No HEALTHCHECK: the slim image has no curl or wget, and the HTTP address is configurable
# (or disabled), so a check baked in here could report a healthy server as down. Check from
# outside (GET / on the HTTP port) or see docs/deploy.md.
ENTRYPOINT ["/usr/local/bin/openroom"]
