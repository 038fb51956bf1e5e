# Two commands do all set-up on a fresh machine:
#   make app    install into .venv and start the page on the embedded defaults
#   make test   install the dev extras into .venv and run the whole test suite
.PHONY: app test lint bench eval

app:
	scripts/setup.sh
	.venv/bin/counterpoint serve

test:
	scripts/test.sh

lint:
	.venv/bin/ruff check service tests eval benchmarks app.py
	.venv/bin/ruff format --check service tests eval benchmarks app.py

bench:
	.venv/bin/python benchmarks/bench_ingest.py
