# syntax=docker/dockerfile:1
# nailtrt on the CPU: ONNX Runtime and the bundled model, as a non-root user.
#   docker build -t nailtrt .   (or: podman build -t nailtrt .)
#   docker run -p 8080:8080 nailtrt
# Kubernetes manifests: deploy/kubernetes. What was and was not built here: README
# "Scaling out".

# ---- build: the native runner (CMake), ONNX Runtime (npm onnxruntime-node, as the
# Makefile fetches it) and the Go binary, whose rpath finds its libraries in ./lib.
FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake g++ libturbojpeg0-dev libjpeg62-turbo-dev nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The packages are installed above; the tests are not part of an image.
RUN make build APT_PACKAGES="cmake g++ libturbojpeg0-dev libjpeg62-turbo-dev" CMAKE_ARGS=-DNAILTRT_TESTS=OFF \
 && mkdir -p /out/lib \
 && cp bin/nailtrt /out/ \
 && cp build/native/lib/libnailtrt.so build/native/lib/libonnxruntime.so.1 /out/lib/

# ---- runtime: the binary, its two libraries and libjpeg-turbo; nothing else.
FROM debian:12-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libturbojpeg0 libjpeg62-turbo libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 nailtrt \
 && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin nailtrt
COPY --from=build /out/ /opt/nailtrt/
USER 10001:10001
ENV NAILTRT_ADDR=:8080
EXPOSE 8080
ENTRYPOINT ["/opt/nailtrt/nailtrt"]
CMD ["serve"]
