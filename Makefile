# The two commands of the README: `make demo` and `make test`.
.PHONY: demo test lint bench

demo:
	@scripts/setup.sh demo
	@.venv/bin/hub demo

test:
	@scripts/setup.sh test
	@HUB_TEST_PG_URL=$$(scripts/services.sh) .venv/bin/python -m pytest $(PYTEST_ARGS)
	@.venv/bin/ruff check .
	@.venv/bin/mypy

lint:
	@.venv/bin/ruff check .
	@.venv/bin/mypy

bench:
	@scripts/setup.sh test
	@.venv/bin/python bench/run.py
