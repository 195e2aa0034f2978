# The two commands of the README: `make demo` and `make test`. Each sets up what it needs on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PKGS := openvswitch-common openvswitch-switch iproute2 ethtool iperf3 netsniff-ng iputils-ping
STAMP := $(VENV)/.installed

.PHONY: all deps venv test test-fast demo bench bench-forward lint clean regen-corpus

all: test

# System packages the tests use (the real ovs-ofctl/ovs-vsctl to compare against). Installed only when missing.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,dev]'
	touch $(STAMP)

venv: $(STAMP)

# The linter, then the whole suite with a coverage figure for the package (reported, not enforced).
test: deps venv
	$(BIN)/ruff check pyvswitch tests bench tools
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -p no:cacheprovider --cov=pyvswitch --cov-report=term:skip-covered tests

test-fast: venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -p no:cacheprovider -x tests

demo: deps venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python tools/demo.py

bench: deps venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python bench/run_all.py

# Forwarding side by side with Open vSwitch's userspace datapath and a Linux bridge (root; about 6 minutes).
# ARGS passes options through: make bench-forward ARGS="--runs 1 --cases pps"
bench-forward: deps venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python bench/forward.py $(ARGS)

lint: venv
	$(BIN)/ruff check pyvswitch tests bench tools

# Regenerates tests/data/parse_flow_corpus.expected from the real ovs-ofctl (Debian's openvswitch-common).
regen-corpus: deps
	$(PY) tools/regen_parse_flow_corpus.py

clean:
	rm -rf $(VENV) build *.egg-info
