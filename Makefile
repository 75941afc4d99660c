# nailtrt — every set-up step a fresh Debian 12 machine needs is a target here.
#   make run     build everything and serve the bundled model on the CPU (:8080)
#   make test    native tests (ctest) + Go tests with the race detector
# See DEVELOPERS.md for the rest (ORT_ROOT, TensorRT, training, benchmarks).

SHELL := /bin/bash
.DEFAULT_GOAL := build

ROOT        := $(CURDIR)
BUILD       := $(ROOT)/build
NATIVE      := $(BUILD)/native
THIRD_PARTY := $(ROOT)/third_party
PYTHON      := /usr/bin/python3
GO          ?= go
JOBS        ?= $(shell nproc)

# ONNX Runtime: by default the Linux x64 library shipped in the npm package
# onnxruntime-node and the C API header shipped in the Go module onnxruntime_go (both
# reachable through this project's registries). Point ORT_ROOT at an official release
# (include/ + lib/) to use that instead.
# Each download is pinned by SHA-256. The header is ONNX Runtime's C API version 24
# (ORT 1.24), which the runner asks for by number (OrtGetApiBase()->GetApi(24)); every
# later runtime serves it unchanged (ORT's C API only grows), and no source reachable
# from here carries the 1.30 release's own header.
ORT_NPM_VERSION    := 1.30.0
ORT_NPM_SHA256     := 6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ORT_LIB_SHA256     := ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
ORT_HEADER_MODULE  := github.com/yalue/onnxruntime_go@v1.27.0
ORT_C_API_SHA256   := 9ed0d7054a4e74249467365b25b415d36f51a44a6349e2a994a1812e4723d1e2
ORT_EP_API_SHA256  := e94ac3490697bdb107844fa9d403952ee7136134132a057eae5c1207b57ce352
ORT_DEFAULT_ROOT   := $(THIRD_PARTY)/onnxruntime
ORT_ROOT           ?= $(ORT_DEFAULT_ROOT)

# Debian packages the build needs; installed when missing (needs root or sudo). The
# tests add redis-server (the shared-cache tests start their own on loopback); make run
# does not need Redis, so it does not install it (Debian runs it as a background service).
APT_PACKAGES := cmake g++ libgtest-dev libturbojpeg0-dev libjpeg62-turbo-dev
TEST_APT_PACKAGES := redis-server
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

NAILTRT_LIB := $(NATIVE)/lib/libnailtrt.so
BIN         := $(ROOT)/bin/nailtrt
# The nails data set (not in the repository; README "Evaluate the model" says where it
# comes from): DATASET=..., or NAILTRT_DATASET, else beside the clone.
ifdef NAILTRT_DATASET
DATASET     ?= $(NAILTRT_DATASET)
else
DATASET     ?= $(abspath $(ROOT)/../shared/datasets/nails)
endif
MODEL       ?= engines/nailseg.json
SPLIT       ?= val

# go-nvml's generated cgo code trips -Wdeprecated-declarations (~150 lines) whenever it
# is compiled; the warnings are about NVIDIA's header, not our code, and a #cgo CFLAGS of
# ours cannot reach a dependency's compile. Only server/nvmlgpu (and so cmd/nailtrt)
# links go-nvml: tools such as `go run ./tools/benchstages` never compile it, and a plain
# `go build ./cmd/nailtrt` prints them once, until Go's build cache holds the package.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations
export NAILTRT_DATASET ?= $(DATASET)

# Photos with no hand (tools/train/nailtrain/negatives.py): training negatives and the
# no-hand validation set. mate-backgrounds and ukui-wallpapers are left alone on purpose:
# they are kept for independent checks.
NOHAND_PACKAGES := gnome-backgrounds sway-backgrounds plasma-workspace-wallpapers
PYTHON_PACKAGES := python3-torch python3-torchvision python3-onnx python3-scipy python3-pil python3-numpy
TRAIN_PACKAGES := $(PYTHON_PACKAGES) $(NOHAND_PACKAGES)
# The training code's tests and the Python linter (make test-python, make lint); the
# tests build their own wallpaper tree, so CI need not install the wallpapers.
PYTEST_PACKAGES := $(PYTHON_PACKAGES) python3-pytest python3-flake8

.PHONY: build native deps ort test test-native test-go test-layers test-python test-install install bench run dev fixtures clean check-tensorrt \
        check-cuda cuda-deps cuda-objects gpu-bundle gpu-bundle-rehearse \
        train train-wide train-deps live gpu-pack quantize apt dataset eval eval-all gallery fuzz soak browser-deps test-browser screenshots test-deploy lint

# ---------------------------------------------------------------- set-up

deps:
	@$(MAKE) --no-print-directory apt PACKAGES="$(APT_PACKAGES)"

train-deps:
	@$(MAKE) --no-print-directory apt PACKAGES="$(TRAIN_PACKAGES)"

# The browser tests: Debian's Chromium, and playwright-core at the version and SHA-512
# that web/e2e/package-lock.json pins (npm ci; it never downloads a browser of its own).
browser-deps:
	@$(MAKE) --no-print-directory apt PACKAGES="chromium"
	@command -v npm >/dev/null || $(MAKE) --no-print-directory apt PACKAGES="nodejs npm"
	@if [ ! web/e2e/node_modules/.package-lock.json -nt web/e2e/package-lock.json ]; then \
	  echo "installing playwright-core into web/e2e/node_modules"; \
	  cd web/e2e && npm ci --silent --no-audit --no-fund; fi

apt:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_INSTALL_FLAGS) $$missing; \
	fi

ort: $(ORT_ROOT)/lib/libonnxruntime.so.1 $(ORT_ROOT)/include/onnxruntime_c_api.h

$(ORT_DEFAULT_ROOT)/lib/libonnxruntime.so.1:
	@command -v npm >/dev/null || $(MAKE) --no-print-directory apt PACKAGES="nodejs npm"
	@echo "fetching ONNX Runtime $(ORT_NPM_VERSION) (npm onnxruntime-node) into $(ORT_DEFAULT_ROOT)"
	@rm -rf $(BUILD)/ort-download && mkdir -p $(BUILD)/ort-download $(ORT_DEFAULT_ROOT)/lib
	cd $(BUILD)/ort-download && npm pack --silent onnxruntime-node@$(ORT_NPM_VERSION) >/dev/null && \
	  echo "$(ORT_NPM_SHA256)  onnxruntime-node-$(ORT_NPM_VERSION).tgz" | sha256sum -c --quiet && \
	  tar xzf onnxruntime-node-$(ORT_NPM_VERSION).tgz package/bin/napi-v6/linux/x64/libonnxruntime.so.1 && \
	  echo "$(ORT_LIB_SHA256)  package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | sha256sum -c --quiet
	cp $(BUILD)/ort-download/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 $@.tmp && mv $@.tmp $@
	ln -sf libonnxruntime.so.1 $(ORT_DEFAULT_ROOT)/lib/libonnxruntime.so
	rm -rf $(BUILD)/ort-download

$(ORT_DEFAULT_ROOT)/include/onnxruntime_c_api.h:
	@mkdir -p $(dir $@)
	dir=$$(cd $(ROOT) && GOFLAGS=-mod=mod $(GO) mod download -json $(ORT_HEADER_MODULE) | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'); \
	  test -n "$$dir" && (cd $$dir && printf '%s  %s\n' $(ORT_C_API_SHA256) onnxruntime_c_api.h \
	    $(ORT_EP_API_SHA256) onnxruntime_ep_c_api.h | sha256sum -c --quiet) && \
	  cp $$dir/onnxruntime_c_api.h $$dir/onnxruntime_ep_c_api.h $(dir $@) && chmod 644 $(dir $@)*.h

# ---------------------------------------------------------------- native runner

native: deps ort
	@# Only CMake's progress is hidden: its warnings and errors go to stderr.
	cmake -S $(ROOT) -B $(NATIVE) -DORT_ROOT=$(ORT_ROOT) $(CMAKE_ARGS) >/dev/null
	cmake --build $(NATIVE) -j $(JOBS)

test-native: native
	cd $(NATIVE) && ctest --output-on-failure -j $(JOBS)

# Compile-checks the TensorRT plugin and the CUDA sources against headers only (no GPU, no
# TensorRT libraries): TENSORRT_INCLUDE is the include/ of the public NVIDIA/TensorRT
# repository, CUDA_INCLUDE the CUDA toolkit headers (Debian's nvidia-cuda-dev unpacked).
check-tensorrt: ort
	@test -n "$(TENSORRT_INCLUDE)" -a -n "$(CUDA_INCLUDE)" || \
	  { echo "usage: make check-tensorrt TENSORRT_INCLUDE=/path/TensorRT/include CUDA_INCLUDE=/path/cuda/include"; exit 2; }
	@grep -h "define TRT_\(MAJOR\|MINOR\|PATCH\)_ENTERPRISE\|define NV_TENSORRT_\(MAJOR\|MINOR\|PATCH\) " \
	  $(TENSORRT_INCLUDE)/NvInferVersion.h | tr '\n' ' '; echo
	set -e; for f in native/src/tensorrt/*.cpp native/src/cuda_runtime.cpp; do \
	  echo "  CXX $$f"; \
	  g++ -std=c++17 -Wall -Wextra -Werror -Wno-unused-parameter -fsyntax-only \
	    -DNT_WITH_CUDA=1 -DNT_WITH_TENSORRT=1 -Inative/include -Inative/src \
	    -isystem $(TENSORRT_INCLUDE) -isystem $(CUDA_INCLUDE) $$f; \
	done
	g++ -std=c++17 -Wall -Wextra -Werror -Wno-unused-parameter -fsyntax-only \
	    -DNT_WITH_CUDA=1 -DNT_WITH_TENSORRT=1 -Inative/include -Inative/src native/src/trt_loader.cpp
	@echo "check-tensorrt: ok"

# Compiles (does not run) every .cu under native/ with Debian's nvcc (CUDA 11.8, package
# nvidia-cuda-toolkit in bookworm's non-free component, which a fresh machine lacks: the
# component is added first) for the GPUs the GPU manifest targets, with every warning an
# error, host code included. nvcc 11.8 accepts GCC 11 at most, so g++-11 is its host
# compiler. -fmad=false: the kernels must give their CPU references' floats bit for bit
# (native/src/cuda/pixels.h), and a fused multiply-add rounds once where g++ rounds twice.
# The install is ~1.6 GB of packages, once per machine (docs/gpu.md has the timings); with
# both installed the target only compiles what changed. make test runs it first, so CI's
# runner is the CUDA build (cudart static; GPU tests skip saying why).
CUDA_PACKAGES := nvidia-cuda-toolkit g++-11
CUDA_ARCHS    ?= 80 90
NVCC          ?= nvcc
NVCC_FLAGS    := -std=c++17 -ccbin g++-11 -O2 -fmad=false \
                 $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(a),code=sm_$(a)) \
                 -Werror all-warnings -Xptxas -Werror -Xcompiler -Wall,-Wextra,-Werror \
                 -DNT_WITH_CUDA=1 -Inative/include -Inative/src
CUDA_SOURCES  := $(shell find native -name '*.cu' 2>/dev/null | sort)
CUDA_HEADERS  := $(shell find native/src/cuda -name '*.h' 2>/dev/null)
CHECK_CUDA    := $(BUILD)/check-cuda
NONFREE_LIST  := /etc/apt/sources.list.d/nailtrt-nonfree.sources

# The objects are built by a second make, after cuda-deps has installed nvcc.
check-cuda: cuda-deps
	@test -n "$(CUDA_SOURCES)" || { echo "check-cuda: no .cu file under native/"; exit 1; }
	@$(MAKE) --no-print-directory cuda-objects
	@echo "check-cuda: ok ($(words $(CUDA_SOURCES)) .cu files, $(foreach a,$(CUDA_ARCHS),sm_$(a)))"

cuda-objects: $(patsubst %.cu,$(CHECK_CUDA)/%.o,$(CUDA_SOURCES))
	@:

$(CHECK_CUDA)/%.o: %.cu $(CUDA_HEADERS)
	@mkdir -p $(dir $@)
	@echo "  NVCC $<"
	@$(NVCC) $(NVCC_FLAGS) -c $< -o $@

# Adds Debian's contrib and non-free components when no apt source has non-free yet
# (nvidia-cuda-toolkit lives there), then installs the packages without recommends
# (those add the docs, cuda-gdb, Nsight and the Java visual profiler with a JDK).
cuda-deps:
	@if ! dpkg -s $(CUDA_PACKAGES) >/dev/null 2>&1; then \
	  if ! grep -Eqs '^(Components:|deb(-src)?[[:space:]]).*[[:space:]]non-free([[:space:]]|$$)' \
	       /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; then \
	    . /etc/os-release; echo "adding Debian $$VERSION_CODENAME contrib non-free to apt ($(NONFREE_LIST))"; \
	    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	      "$$VERSION_CODENAME" | $(SUDO) tee $(NONFREE_LIST) >/dev/null; \
	  fi; \
	  $(MAKE) --no-print-directory apt PACKAGES="$(CUDA_PACKAGES)" APT_INSTALL_FLAGS=--no-install-recommends; \
	fi

# The GPU bundle (tools/gpu/pack.sh): what a lent GPU machine needs to test the GPU path,
# at most 64 MiB, with run.sh, the one command that runs it all there and writes a report
# (docs/gpu.md). Named apart from gpu-pack, which packs the training data. The runner
# must be the CUDA build: run make check-cuda first on a fresh machine.
# gpu-bundle-rehearse unpacks it here and runs it the way the GPU machine will.
gpu-bundle: native
	tools/gpu/pack.sh $(BUILD)/gpu-bundle

gpu-bundle-rehearse: gpu-bundle
	rm -rf $(BUILD)/gpu-rehearsal && mkdir -p $(BUILD)/gpu-rehearsal
	tar -C $(BUILD)/gpu-rehearsal -xJf $(BUILD)/gpu-bundle/nailtrt-gpu.tar.xz
	$(BUILD)/gpu-rehearsal/nailtrt-gpu/run.sh $(BUILD)/gpu-rehearsal/report

# Installs the runner (library, ONNX Runtime, TensorRT plugin when built, nailtrt.h and
# the pkg-config file nailtrt.pc) under PREFIX; see DEVELOPERS.md for using it from
# another Go module (-tags nailtrt_pkgconfig).
PREFIX ?= /usr/local
install: native
	cmake --install $(NATIVE) --prefix $(PREFIX)

# The outside-module recipe of DEVELOPERS.md, end to end: install into a scratch prefix,
# build tools/installtest in a module outside the tree with -tags nailtrt_pkgconfig, run
# it, and check it loaded the installed library, not the build folder's.
INSTALL_TEST := $(BUILD)/install-test
test-install: native
	@command -v pkg-config >/dev/null || $(MAKE) --no-print-directory apt PACKAGES="pkg-config"
	rm -rf $(INSTALL_TEST) && mkdir -p $(INSTALL_TEST)/mod
	cmake --install $(NATIVE) --prefix $(INSTALL_TEST)/prefix >/dev/null
	cp tools/installtest/main.go $(INSTALL_TEST)/mod/
	cd $(INSTALL_TEST)/mod && \
	  printf 'module example.com/nailtrtuser\n\ngo 1.26\n\nrequire github.com/nailtrt/nailtrt v0.0.0\n\nreplace github.com/nailtrt/nailtrt => $(ROOT)\n' > go.mod && \
	  $(GO) mod tidy && \
	  PKG_CONFIG_PATH=$(INSTALL_TEST)/prefix/lib/pkgconfig $(GO) build -tags nailtrt_pkgconfig -o nailtrtuser . && \
	  ./nailtrtuser && \
	  ldd ./nailtrtuser | grep -q "$(INSTALL_TEST)/prefix/lib/.*libnailtrt.so" || \
	  { echo "test-install: nailtrtuser did not load the installed libnailtrt.so:"; ldd ./nailtrtuser; exit 1; }

# ---------------------------------------------------------------- Go

build: native
	$(GO) build -o $(BIN) ./cmd/nailtrt

test-go: native
	@$(MAKE) --no-print-directory apt PACKAGES="$(TEST_APT_PACKAGES)"
	$(GO) test -race -count=1 ./...

test: check-cuda lint test-native test-go test-layers test-python test-install test-deploy test-browser fuzz

# The layering holds (README, Architecture): the domain (nails) and the HTTP layer
# (server) import no runner, not even in their tests once built with -tags nonative
# (which leaves out the tests that run the fixture model through nails/segment), and
# those tests pass without the native library: nothing here needs build/native.
LAYER_FREE := ./nails ./server
test-layers:
	@bad=$$($(GO) list -deps -test -tags nonative $(LAYER_FREE) | grep -E 'nailtrt/(trt|nails/segment)$$' || true); \
	  test -z "$$bad" || { echo "the domain or the server reaches the runtime:"; echo "$$bad"; exit 1; }
	$(GO) test -count=1 -tags nonative $(LAYER_FREE)

# Habits as gates: formatting (gofmt; clang-format with the committed .clang-format over
# every C/C++ file, new ones included), static analysis (staticcheck, pinned, run as a Go
# tool) and a go.mod/go.sum that go mod tidy would leave as they are. The Python linter
# runs in test-python, beside the training code's tests.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint: native
	@$(MAKE) --no-print-directory apt PACKAGES="clang-format"
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || { echo "gofmt -l: run gofmt -w on:"; echo "$$out"; exit 1; }
	clang-format --dry-run --Werror $$(git ls-files --cached --others --exclude-standard '*.c' '*.h' '*.cpp' '*.cc' '*.cu')
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# The training code's tests (tools/train/tests: dataset reader, augmentation invariants,
# metrics, the golden fixture tools/eval scores too) and the linter over every .py in tools/.
test-python:
	@$(MAKE) --no-print-directory apt PACKAGES="$(PYTEST_PACKAGES)"
	$(PYTHON) -m flake8 --config tools/.flake8 tools
	$(PYTHON) -m pytest -q -p no:cacheprovider tools/train

# Kubernetes manifests against the API's own schemas, offline: the OpenAPI document of
# Kubernetes $(K8S_VERSION) comes from the Go module proxy (module k8s.io/kubernetes,
# checked against the SHA-256 below), tools/kubeschema turns it into kubeconform's
# strict per-kind schemas, and kubeconform (a pinned Go tool) validates every file.
# deploy/deploy_test.go (in test-go) checks what schemas cannot: options, routes, ports,
# memory bounds, selectors.
K8S_VERSION        := v1.34.1
K8S_SWAGGER_SHA256 := d3b0cdc2fda15c753206d25ab459dc7c12df64e2fd652b6809687471ea751c37
KUBECONFORM        := github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0
KUBESCHEMA         := $(BUILD)/kubeschema/$(K8S_VERSION)

$(KUBESCHEMA)/.done: tools/kubeschema/main.go
	@dir=$$(cd $(ROOT) && GOFLAGS=-mod=mod $(GO) mod download -json k8s.io/kubernetes@$(K8S_VERSION) | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'); \
	  test -n "$$dir" && echo "$(K8S_SWAGGER_SHA256)  $$dir/api/openapi-spec/swagger.json" | sha256sum -c --quiet && \
	  rm -rf $(KUBESCHEMA) && $(GO) run ./tools/kubeschema -in $$dir/api/openapi-spec/swagger.json -out $(KUBESCHEMA)
	@touch $@

test-deploy: $(KUBESCHEMA)/.done
	$(GO) run $(KUBECONFORM) -strict -summary \
	  -schema-location '$(KUBESCHEMA)/{{ .ResourceKind }}{{ .KindSuffix }}.json' deploy/kubernetes/

# The try-on page in headless Chromium against the bundled model (web/browser_test.go);
# without -race, since it reports frame rates.
test-browser: native browser-deps
	NAILTRT_BROWSER_TESTS=1 $(GO) test -count=1 -run '^TestTryOnPageInChromium$$' -v ./web/

# The README's screenshots (docs/screenshots), from the same browser run.
screenshots: native browser-deps
	SHOTS=$(ROOT)/docs/screenshots NAILTRT_BROWSER_TESTS=1 $(GO) test -count=1 -run '^TestTryOnPageInChromium$$' -v ./web/

# Short fuzzing runs of every parser, counted in executions: FUZZEXECS per target, or the
# count a `//nailtrt:fuzz-execs N` line above a slow target's func gives (a few seconds
# each on the 2-core machine). Counted, not timed, because a -fuzztime duration makes
# Go 1.26's coordinator race its own deadline: on a loaded machine a run then fails with
# a bare "context deadline exceeded" and no failing input (go.dev/issue/75804; it failed
# CI here twice in a row on one target). A count sets no deadline, so there is no race.
# Longer runs: make fuzz FUZZTIME=5m (a duration for every target; a run that fails that
# way, with no failing input written, is retried once) or FUZZEXECS=1000000.
FUZZEXECS ?= 30000
FUZZTIME ?=
fuzz: native
	@for t in $$(grep -rhoE '^func (Fuzz[A-Za-z0-9_]+)' --include='*_test.go' . | awk '{print $$2}' | sort -u); do \
	  file=$$(grep -rlE "^func $$t\(" --include='*_test.go' . | head -1); pkg=$$(dirname $$file); \
	  budget="$(FUZZTIME)"; \
	  if [ -z "$$budget" ]; then \
	    n=$$(grep -B1 -E "^func $$t\(" $$file | sed -nE 's|^//nailtrt:fuzz-execs ([0-9]+).*|\1|p'); \
	    budget="$${n:-$(FUZZEXECS)}x"; fi; \
	  for try in 1 2; do \
	    echo "fuzz $$pkg $$t ($$budget)"; \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $$budget $$pkg 2>&1); rc=$$?; \
	    echo "$$out" | grep -v '^fuzz: elapsed' ; \
	    [ $$rc = 0 ] && break; \
	    if [ $$try = 1 ] && echo "$$budget" | grep -qv 'x$$' && echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
	      echo "fuzz $$t: Go's -fuzztime deadline race (go.dev/issue/75804), no failing input: running it again"; continue; fi; \
	    exit 1; \
	  done; \
	done

# The hostile soak (server/soak_test.go) for longer than make test's few seconds; the
# figures go to build/soak.json (docs/reliability.md quotes them).
SOAK ?= 2m
SOAK_CLIENTS ?= 16
soak: native
	$(GO) test -count=1 -run '^TestSoak$$' -v -timeout 0 ./server -soak.duration $(SOAK) -soak.clients $(SOAK_CLIENTS) \
	  -soak.report $(BUILD)/soak.json

# The Go stage benchmarks, then the stage table per photo size (tools/benchstages):
# where a request's time and memory go, the ratios README "How fast" quotes.
bench: native
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./trt/... ./nails/...
	$(GO) run ./tools/benchstages

# Serves on loopback (127.0.0.1:8080) unless NAILTRT_ADDR says otherwise (nailtrt
# serve's own default, :8080, is every interface). The build's output is shown without
# make's directory lines and CMake's "Built target" progress (all of it in
# build/run-build.log); serve prints "nailtrt: open http://..." once it answers.
run:
	@mkdir -p $(BUILD); $(MAKE) --no-print-directory build 2>&1 | tee $(BUILD)/run-build.log | \
	  grep --line-buffered -Ev '^g?make\[[0-9]+\]: (Entering|Leaving) directory|^\[ *[0-9]+%\] Built target|^(cmake|go build) '; \
	  test $${PIPESTATUS[0]} = 0 || { echo "make run: the build failed (build/run-build.log)"; exit 1; }
	@NAILTRT_ADDR=$${NAILTRT_ADDR:-127.0.0.1:8080} exec $(BIN) serve --backend onnxruntime

dev: build
	$(BIN) serve --backend onnxruntime --log-level debug

fixtures: train-deps
	$(PYTHON) tools/fixtures/make_fixtures.py

# ---------------------------------------------------------------- model

# Trains the bundled models (nailseg 3.x and its live model, fine-tuned at 384 px) from
# the committed pretrained encoder (seeded), exports them, checks each export through the
# native runner against PyTorch, then evaluates them through the Go pipeline on val (stored in the
# manifests, with the no-hand photos) and test (printed, never used to choose). Thirteen
# cycles, about 6.8 hours on the 2-core machine (tools/train/README.md, "Model v3", says
# what each is for): DeepLabV3's MobileNetV2-0.5 encoder under a U-Net decoder with 15%
# no-hand images, 2,000 steps at 4e-3; 2,000 more with hard-example weights at 1.5e-3;
# two with small-nail loss weights (3.1.0); five with a share of the crops the photo as
# inference sees it (--clean), from the second the weights averaged (--ema), the last
# with 448 px crops (3.2.0); two with a share of those crops four photos zoomed out
# (--zoom-out): 3.3.0; two at batch 16 instead of 8, the second drawing photos with nails
# the model misses more often (--hard-nails): 3.4.0.
# The post-processing (threshold 0.6, min area 100, min score 0.85, masks drawn at 0.4,
# hflip TTA) was chosen on val with the sweep the training README shows. To continue from
# the bundled model instead of starting over: --arch mnv2 --init engines/nailseg.onnx
# (BatchNorm restored, from_onnx), or --init tools/train/checkpoints/nailseg-mnv2.pt (the
# last session's best raw checkpoint).
# TRAIN_ARGS go to every cycle: NHWC convolutions and one torch thread, leaving the other
# core to the worker that makes the crops (tools/train/README.md, "Training speed").
TRAIN_ARGS ?= --channels-last --threads 1
PRETRAINED := tools/train/pretrained/deeplabv3_mnv2_dm05_pascal_quant.tflite
CYCLE := $(PYTHON) tools/train/train.py --arch mnv2 --negatives 0.15
train: train-deps native
	$(CYCLE) --workdir build/train --pretrained $(PRETRAINED) --steps 2000 --lr 4e-3 --seed 31 $(TRAIN_ARGS)
	$(CYCLE) --workdir build/train2 --init build/train/best.pt --steps 2000 --lr 1.5e-3 --seed 32 --hard 2 $(TRAIN_ARGS)
	$(CYCLE) --workdir build/train3 --init build/train2/best.pt --steps 2000 --lr 1.5e-3 --seed 35 --hard 2 --small 400 $(TRAIN_ARGS)
	$(CYCLE) --workdir build/train4 --init build/train3/best.pt --steps 1500 --lr 8e-4 --seed 36 --hard 2 --small 400 $(TRAIN_ARGS)
	$(CYCLE) --workdir build/train5 --init build/train4/best.pt --steps 1500 --lr 1e-3 --seed 41 --hard 2 --small 400 \
	  --clean 0.6 --eval-every 250 $(TRAIN_ARGS)
	$(CYCLE) --workdir build/train6 --init build/train5/best.pt --steps 1000 --lr 5e-4 --seed 42 --hard 2 --small 400 \
	  --clean 0.7 --ema 0.998 --eval-every 250 $(TRAIN_ARGS)
	$(CYCLE) --workdir build/train7 --init build/train6/best.pt --steps 1500 --lr 5e-4 --seed 43 --hard 2 --small 400 \
	  --clean 0.8 --ema 0.998 --eval-every 250 $(TRAIN_ARGS)
	$(CYCLE) --workdir build/train8 --init build/train7/best.pt --steps 1500 --lr 5e-4 --seed 44 --hard 2 --small 400 \
	  --clean 0.9 --ema 0.998 --eval-every 250 $(TRAIN_ARGS)
	$(CYCLE) --workdir build/train9 --init build/train8/best.pt --steps 800 --lr 5e-4 --seed 45 --hard 2 --small 400 \
	  --clean 0.9 --ema 0.998 --crop 448 --eval-every 200 $(TRAIN_ARGS)
	$(CYCLE) --workdir build/train10 --init build/train9/best.pt --steps 800 --lr 5e-4 --seed 61 --hard 2 --small 400 \
	  --clean 0.9 --zoom-out 0.25 --ema 0.998 --crop 448 --eval-every 200 $(TRAIN_ARGS)
	$(CYCLE) --workdir build/train11 --init build/train10/best.pt --steps 800 --lr 4e-4 --seed 62 --hard 2 --small 400 \
	  --clean 0.9 --zoom-out 0.5 --ema 0.998 --crop 448 --eval-every 200 $(TRAIN_ARGS)
	$(CYCLE) --workdir build/train12 --init build/train11/best.pt --batch 16 --steps 500 --lr 4e-4 --seed 81 --hard 2 \
	  --small 400 --clean 0.9 --zoom-out 0.5 --ema 0.998 --crop 448 --eval-every 125 $(TRAIN_ARGS)
	$(CYCLE) --workdir build/train13 --init build/train12/best.pt --batch 16 --steps 500 --lr 4e-4 --seed 83 --hard 2 \
	  --hard-nails 1 --small 400 --clean 0.9 --zoom-out 0.5 --ema 0.998 --crop 448 --eval-every 125 $(TRAIN_ARGS)
	$(PYTHON) tools/train/export.py --checkpoint build/train13/best.pt --metrics build/train13/metrics.json --out engines/nailseg \
	  --parity-dir build/train13/parity --threshold 0.6 --min-area 100 --min-score 0.85 --mask-threshold 0.4 --tta hflip
	$(GO) run ./tools/parity --dir build/train13/parity
	$(MAKE) --no-print-directory $(NOHAND)/.done
	$(GO) run ./tools/eval --model engines/nailseg.json --dataset $(DATASET) --split val --nohand $(NOHAND) --write-manifest
	$(GO) run ./tools/eval --model engines/nailseg.json --dataset $(DATASET) --split test
	$(MAKE) --no-print-directory quantize MODEL=engines/nailseg.json INT8_OUT=engines/nailseg-int8
	$(MAKE) --no-print-directory live CHECKPOINT=build/train13/best.pt

# The wider encoder under training (issue 35; tools/train/README.md, "The wider
# encoder"): DeepLabV3's MobileNetV2-1.0 under the same decoder, 1.85 M parameters. Not
# bundled: its INT8 build, the one fast enough to serve, finds fewer hands' nails than the
# bundled one's (the training README's seventh session has the numbers). This reproduces
# its checkpoint (tools/train/checkpoints/nailseg-mnv2-w10.pt) from the committed
# pretrained file in six seeded cycles, about 3.7 hours on the 2-core machine,
# and exports and evaluates it under build/wide (float and INT8). Three cycles were
# stopped early in the sessions that ran them (a time limit, a session's end); --stop-at
# ends them at the same step of the same schedule.
PRETRAINED_WIDE := tools/train/pretrained/deeplabv3_mnv2_pascal_quant.tflite
WIDE := $(PYTHON) tools/train/train.py --arch mnv2 --alpha 1.0 --small 400
# Each later cycle starts from the one before, with hard-example weights and EMA.
WIDE_NEXT = $(WIDE) --hard 2 --ema 0.998 --init
train-wide: train-deps native
	$(WIDE) --workdir build/wide1 --pretrained $(PRETRAINED_WIDE) --negatives 0.15 --clean 0.5 \
	  --steps 2500 --stop-at 2250 --lr 4e-3 --seed 51 --eval-every 250 $(TRAIN_ARGS)
	$(WIDE_NEXT) build/wide1/best.pt --workdir build/wide2 --negatives 0.15 --clean 0.7 \
	  --steps 1500 --stop-at 1000 --lr 1.5e-3 --seed 52 --eval-every 250 $(TRAIN_ARGS)
	$(WIDE_NEXT) build/wide2/best.pt --workdir build/wide3 --negatives 0.15 --clean 0.8 \
	  --steps 1000 --stop-at 500 --lr 1e-3 --seed 53 --eval-every 250 $(TRAIN_ARGS)
	$(WIDE_NEXT) build/wide3/best.pt --workdir build/wide4 --negatives 0.2 --clean 0.8 \
	  --steps 1500 --stop-at 1250 --lr 7e-4 --seed 54 --eval-every 250 $(TRAIN_ARGS)
	$(WIDE_NEXT) build/wide4/best.pt --workdir build/wide5 --negatives 0.2 --clean 0.9 --crop 448 \
	  --steps 1200 --lr 5e-4 --seed 55 --eval-every 200 $(TRAIN_ARGS)
	$(WIDE_NEXT) build/wide5/best.pt --workdir build/wide6 --negatives 0.2 --clean 0.9 --zoom-out 0.5 --crop 448 \
	  --batch 16 --steps 500 --lr 4e-4 --seed 91 --eval-every 125 $(TRAIN_ARGS)
	$(PYTHON) tools/train/export.py --checkpoint build/wide6/best.pt --metrics build/wide6/metrics.json \
	  --out build/wide/nailseg --version 3.4.0-wide --parity-dir build/wide/parity \
	  --threshold 0.6 --min-area 100 --min-score 0.85 --mask-threshold 0.4 --tta hflip
	$(GO) run ./tools/parity --dir build/wide/parity
	$(MAKE) --no-print-directory eval-all MODEL=build/wide/nailseg.json
	$(MAKE) --no-print-directory quantize MODEL=build/wide/nailseg.json INT8_OUT=build/wide/nailseg-int8
	$(MAKE) --no-print-directory eval-all MODEL=build/wide/nailseg-int8.json

# The live model (engines/nailseg-live, built in beside the photo model), for camera
# frames (engines/README.md, "Live model"): the photo model's weights fine-tuned for
# 600 steps at the live input (384 px; whole 384 px crops, the clean and zoomed-out ones
# at that scale; about 13 minutes), exported there, one pass without the mirror; min
# area scaled to the smaller input. CHECKPOINT picks the starting weights (make train
# passes its last cycle's).
CHECKPOINT ?= tools/train/checkpoints/nailseg-mnv2.pt
live: train-deps native
	$(CYCLE) --workdir $(BUILD)/live-train --init $(CHECKPOINT) --size 384 --crop 384 --hard 2 --small 400 --clean 0.9 \
	  --zoom-out 0.5 --ema 0.998 --steps 600 --lr 4e-4 --seed 65 --eval-every 200 $(TRAIN_ARGS)
	$(PYTHON) tools/train/export.py --checkpoint $(BUILD)/live-train/best.pt --metrics none --name nailseg-live --out engines/nailseg-live \
	  --size 384 --parity-dir $(BUILD)/live/parity --threshold 0.6 --min-area 56 --min-score 0.85 --mask-threshold 0.4 --tta ""
	$(GO) run ./tools/parity --dir $(BUILD)/live/parity
	$(MAKE) --no-print-directory $(NOHAND)/.done
	$(GO) run ./tools/eval --model engines/nailseg-live.json --dataset $(DATASET) --split val --nohand $(NOHAND) --write-manifest
	$(GO) run ./tools/eval --model engines/nailseg-live.json --dataset $(DATASET) --split test

# A compact copy of the dataset (~54 MiB: photos re-encoded, masks 1-bit) to carry to a
# lent GPU machine, which takes 64 MiB a call (DEVELOPERS.md, "Training on a lent GPU").
gpu-pack: train-deps
	$(PYTHON) tools/train/pack.py --dataset $(DATASET) --out $(BUILD)/gpu-data

# The INT8 build of a model (tools/train/quantize.py: static QDQ calibrated on ~64 train
# photos, ReLU6/Clip included since nailseg 3.x; then its val metrics through the Go
# pipeline). MODEL and INT8_OUT choose the files; engines/README.md says what it costs
# and gains on this CPU.
INT8_OUT ?= build/int8/nailseg-int8
quantize: train-deps native
	$(PYTHON) tools/train/quantize.py --model $(MODEL) --out $(INT8_OUT)
	$(MAKE) --no-print-directory $(NOHAND)/.done
	$(GO) run ./tools/eval --model $(INT8_OUT).json --dataset $(DATASET) --split val --nohand $(NOHAND) --write-manifest

# Any manifest over any split, through the Go pipeline and the native runner, with the
# no-hand photos beside it (false nails per photo). SPLIT=test is the honest split
# (tools/train/splits/test.txt, carved out of train; never tune on it); make eval-all
# runs val and test side by side.
NOHAND := $(BUILD)/nohand
# A fresh clone has no data set: say where it comes from before building anything.
dataset:
	@test -f "$(DATASET)/manifest.csv" || { \
	  echo "make: no nails data set at $(DATASET) (manifest.csv missing)."; \
	  echo "  It is not in the repository: see README.md, \"Evaluate the model\", for where it comes from and its layout."; \
	  echo "  Point at it with DATASET=/path/to/nails (make eval DATASET=...) or NAILTRT_DATASET=/path/to/nails."; \
	  exit 1; }

eval: dataset native $(NOHAND)/.done
	$(GO) run ./tools/eval --model $(MODEL) --dataset $(DATASET) --split $(SPLIT) --nohand $(NOHAND)

eval-all: dataset native $(NOHAND)/.done
	$(GO) run ./tools/eval --model $(MODEL) --dataset $(DATASET) --split val --nohand $(NOHAND)
	$(GO) run ./tools/eval --model $(MODEL) --dataset $(DATASET) --split test

$(NOHAND)/.done: tools/train/nohand.py tools/train/nailtrain/negatives.py
	@$(MAKE) --no-print-directory train-deps
	$(PYTHON) tools/train/nohand.py --out $(NOHAND)
	@touch $@

# Before/after images for a few validation photos and every finish, then the val hands
# the model gets most and least right (prediction filled green, labels outlined red).
gallery: native
	$(GO) run ./tools/gallery --model $(MODEL) --dataset $(DATASET) --out docs/gallery
	$(GO) run ./tools/eval --model $(MODEL) --dataset $(DATASET) --split val --sources hands --per-image $(BUILD)/eval-hands.csv
	$(GO) run ./tools/gallery --model $(MODEL) --dataset $(DATASET) --out docs/gallery --errors $(BUILD)/eval-hands.csv

clean:
	rm -rf $(BUILD) $(ROOT)/bin
