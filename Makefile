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

.PHONY: help venv build serve test bench lint clean

help:
	@echo "make serve   构建手册并启动服务  http://$(HOST):$(PORT)"
	@echo "make test    运行全部测试"
	@echo "make build   严格构建网站到 site/"
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

serve: build
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m forms_server serve

test: venv
	$(BIN)/python -m pytest

bench: venv
	$(BIN)/python -m bench

lint: venv
	$(BIN)/ruff check qms_site forms_server tests bench
	$(BIN)/ruff format --check qms_site forms_server tests bench

clean:
	rm -rf site .pytest_cache
