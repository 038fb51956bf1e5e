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

# One run, one markdown table: ingest, retrieval at 1k/10k/100k chunks, the seed answer on the local
# model. `make bench BENCH_ARGS=--skip-llm` leaves the model out.
bench:
	.venv/bin/python benchmarks/bench.py $(BENCH_ARGS)
