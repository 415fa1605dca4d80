# Two commands matter: `make run` and `make test` (see README.md).
# durable_rules does not import on Python 3.13, so pick 3.12 or 3.11 when the machine has them.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not ((3,11) <= sys.version_info[:2] <= (3,12)))' 2>/dev/null; then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
# `make run PACK=DIR` starts the app on another city's pack, with its own data folder
# (a data folder belongs to one city: tsunagu serve refuses to mix them).
PACK ?=
ifeq ($(PACK),)
TSUNAGU_DATA ?= ./data
else
TSUNAGU_DATA ?= ./data-$(notdir $(abspath $(PACK)))
endif
export TSUNAGU_DATA

.PHONY: run test bench install check-python clean browser-deps postgres-deps lock

check-python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 または 3.12 が必要です（durable_rules は 3.13 で動きません）。"; exit 1; }

# Every package is installed at the exact version in constraints.txt, so two machines run the same code.
$(BIN)/.installed: pyproject.toml constraints.txt | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

# Refresh the pins: the newest versions pyproject.toml allows, resolved in a scratch venv.
# Then run `make test` and commit constraints.txt with what changed.
lock: check-python
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e '.[test]'
	{ echo "# Exact versions \`make install\` installs (pip -c). Refresh with \`make lock\`, run the tests, commit."; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -v '^#'; } > constraints.txt
	rm -rf .lock-venv
	rm -f $(BIN)/.installed

install: $(BIN)/.installed

run: install
	$(BIN)/tsunagu serve --port $(PORT) --data $(TSUNAGU_DATA) $(if $(PACK),--config $(PACK))

# The PostgreSQL tests run against a real, throwaway server (tests/pg_cluster.py): started in a
# temporary folder on a free loopback port before pytest, stopped and removed after it, also when
# tests fail. Its URL reaches the tests as TSUNAGU_TEST_DATABASE_URL.
test: install browser-deps postgres-deps
	$(BIN)/python tests/pg_cluster.py run -- $(BIN)/python -m pytest

# The browser test (tests/test_e2e.py) drives Debian's Chromium with Playwright; Playwright's own
# browser download is never used. Japanese needs the Noto CJK fonts, else it renders as boxes
# (the emoji font is for the page icons in the screenshots). Graphviz's `dot` checks that the
# 全体図 is valid DOT (tests/test_diagram.py). `make run` does not need any of this.
CHROMIUM := /usr/bin/chromium
BROWSER_FILES := $(CHROMIUM) /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
  /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf /usr/bin/dot
BROWSER_PACKAGES := chromium fonts-noto-cjk fonts-noto-color-emoji graphviz

browser-deps:
	@have() { for f in $(BROWSER_FILES); do [ -e "$$f" ] || return 1; done; }; \
	if have; then exit 0; fi; \
	echo "テストに必要な $(BROWSER_PACKAGES) を apt-get で入れます。"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; \
	else SUDO=none; fi; \
	if [ "$$SUDO" = none ] || ! command -v apt-get >/dev/null 2>&1 || \
	   ! { $$SUDO apt-get update -q && \
	       $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(BROWSER_PACKAGES); } || \
	   ! have; then \
	  echo "エラー: ブラウザのテストに必要な Chromium（$(CHROMIUM)）と Noto のフォントを入れられませんでした。"; \
	  echo "  root で次を実行してから、もう一度 make test を実行してください:"; \
	  echo "  apt-get update && apt-get install -y --no-install-recommends $(BROWSER_PACKAGES)"; \
	  echo "Error: the browser test needs Chromium ($(CHROMIUM)) and the Noto fonts, and they could not be"; \
	  echo "  installed (apt-get needs root, or sudo). Install the Debian packages $(BROWSER_PACKAGES), then run make test again."; \
	  exit 1; \
	fi

bench: install postgres-deps
	$(BIN)/python tests/pg_cluster.py run --durable -- $(BIN)/python bench/run.py

# Debian's PostgreSQL server for the tests and the benchmark (not for `make run`, which keeps the
# embedded store). initdb refuses root: tests/pg_cluster.py runs it as the user tsunagu-test.
POSTGRES_PACKAGES := postgresql

postgres-deps:
	@have() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }; \
	if have; then exit 0; fi; \
	echo "PostgreSQL のテストに必要な $(POSTGRES_PACKAGES) を apt-get で入れます。"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; \
	else SUDO=none; fi; \
	if [ "$$SUDO" = none ] || ! command -v apt-get >/dev/null 2>&1 || \
	   ! { $$SUDO apt-get update -q && \
	       $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(POSTGRES_PACKAGES); } || \
	   ! have; then \
	  echo "エラー: PostgreSQL のテストに必要なサーバー（Debian の $(POSTGRES_PACKAGES)）を入れられませんでした。"; \
	  echo "  root で次を実行してから、もう一度 make test を実行してください:"; \
	  echo "  apt-get update && apt-get install -y --no-install-recommends $(POSTGRES_PACKAGES)"; \
	  echo "Error: the PostgreSQL tests need a server (Debian's $(POSTGRES_PACKAGES)), and it could not be"; \
	  echo "  installed (apt-get needs root, or sudo). Install it, then run make test again."; \
	  exit 1; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
