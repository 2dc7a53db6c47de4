# The two commands: `make run` and `make test`. Both install what is missing
# (PostgreSQL, Redis, PgBouncer, with apt) and start them on loopback under
# .data/ first; see deploy/local/services.sh.

SERVICES := deploy/local/services.sh
GO       ?= go
GOFLAGS  ?=
BIN      := bin/storefleet

# The local services' URLs, exported so that the binary and the tests find them.
export DATABASE_URL  ?= $(shell $(SERVICES) env | sed -n 's/^DATABASE_URL=//p')
export REDIS_URL     ?= $(shell $(SERVICES) env | sed -n 's/^REDIS_URL=//p')
export PGBOUNCER_URL ?= $(shell $(SERVICES) env | sed -n 's/^PGBOUNCER_URL=//p')

.PHONY: run test bench services stop clean env build vet fmt-check

## run: start the local services, migrate, seed the demo store and serve it
run: services build
	./$(BIN) dev

## test: start the local services, install Chromium if missing, and run every test (with the race detector)
test: services vet fmt-check
	@$(SERVICES) browser
	@$(SERVICES) stripe
	@$(SERVICES) sweep
	$(GO) test $(GOFLAGS) -race -count=1 -timeout 20m ./...

## bench: storefleet bench in a fresh database: provisioning, migration fan-out, storefront and Admin API load, checkout, jobs, baseline (BENCH_FLAGS=--large, --seed N, …)
BENCH_FLAGS ?=
bench: services build
	./$(BIN) bench $(BENCH_FLAGS)

## services: install (if missing) and start PostgreSQL, Redis and PgBouncer under .data/
services:
	@$(SERVICES) up

## stop: stop the local services
stop:
	@$(SERVICES) down

## clean: stop the local services and remove .data/ and bin/
clean:
	@$(SERVICES) clean
	rm -rf bin

## env: print DATABASE_URL=… and REDIS_URL=… for the local services
env:
	@$(SERVICES) env

build:
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/storefleet

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.data/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
