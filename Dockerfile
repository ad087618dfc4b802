# A plain image of onair: `docker build -t onair .`
# Run: docker run -p 8080:8080 -v media:/srv/media:ro -v onair-data:/var/lib/onair \
#        -v ./channels.d:/etc/onair/channels.d:ro onair
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/onair ./cmd/onair

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates ffmpeg \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/onair --create-home onair
COPY --from=build /out/onair /usr/local/bin/onair
COPY packaging/onair.yaml /etc/onair/onair.yaml
COPY channels.d /etc/onair/channels.d
USER onair
WORKDIR /var/lib/onair
ENV ONAIR_LOG_FORMAT=json
EXPOSE 8080 8554 8189/udp
VOLUME ["/var/lib/onair"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ok <&3"]
ENTRYPOINT ["/usr/local/bin/onair"]
CMD ["serve", "--config", "/etc/onair/onair.yaml"]
