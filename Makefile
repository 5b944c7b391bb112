# The commands people type. Every target creates .venv with the pinned
# dependencies on first use, so a fresh clone needs nothing but Python 3.11+.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The site engine reads mkdocs.yml explicitly (ProperDocs would otherwise look
# for properdocs.yml first and print a rename notice).
SITE := $(BIN)/properdocs build --strict -f mkdocs.yml
# Published editions of the manual (mike) live on this branch; `make editions`
# extracts it to editions/ for the server (plain files, no symlinks to follow).
EDITIONS_BRANCH ?= editions
MIKE := $(BIN)/mike

.PHONY: help venv build serve test bench lint clean release _release-check editions

help:
	@echo "make serve   构建手册并启动服务  http://$(HOST):$(PORT)"
	@echo "make test    运行全部测试"
	@echo "make build   严格构建网站到 site/"
	@echo "make release EDITION=2026.1  发布一个手册版本(mike),latest 指向它"
	@echo "make editions                把已发布的版本提取到 editions/(make serve 会自动执行)"
	@echo "make bench   性能基准(bench/,打印与同次运行基线的比值)"
	@echo "make lint    代码检查(ruff)"

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c requirements.lock -e '.[dev]'
	touch $@

build: venv
	$(SITE) --site-dir site

serve: build editions
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m forms_server serve

_release-check:
	@test -n "$(EDITION)" || { echo "用法：make release EDITION=2026.1"; exit 2; }
	@case "$(EDITION)" in latest|*[!0-9A-Za-z._-]*) \
		echo "版本号“$(EDITION)”不可用：只能含字母、数字、点、横线和下划线，且不能是 latest"; exit 2;; esac
	@test -z "$$(git status --porcelain -- docs data/forms data/qms.yml mkdocs.yml)" || { \
		echo "docs/、data/ 或 mkdocs.yml 有未提交的修改。发布的版本应对应一个确定的提交：请先 git commit。"; exit 2; }

# The strict build checks the manual before mike publishes it (mike's own build is not
# strict, and leaves its edition build in site/); site/ is then built again as the live
# manual, which now finds itself published and records the edition in confirmations.
release: _release-check build
	PATH="$(abspath $(BIN)):$$PATH" $(MIKE) deploy --config-file mkdocs.yml --branch $(EDITIONS_BRANCH) --alias-type copy \
		--update-aliases --title "$(EDITION)" --message "发布手册版本 $(EDITION)" $(EDITION) latest
	$(MIKE) set-default --config-file mkdocs.yml --branch $(EDITIONS_BRANCH) latest
	$(SITE) --site-dir site
	$(MAKE) editions

editions:
	@if git rev-parse --verify --quiet $(EDITIONS_BRANCH) >/dev/null; then \
		rm -rf editions.new && mkdir editions.new && git archive $(EDITIONS_BRANCH) | tar -x -C editions.new && \
		rm -rf editions && mv editions.new editions && echo "已发布的版本已提取到 editions/"; \
	else echo "尚未发布手册版本(make release EDITION=…)"; fi

test: venv
	$(BIN)/python -m pytest

bench: venv
	$(BIN)/python -m bench

lint: venv
	$(BIN)/ruff check qms_site forms_server tests bench
	$(BIN)/ruff format --check qms_site forms_server tests bench

clean:
	rm -rf site .pytest_cache
