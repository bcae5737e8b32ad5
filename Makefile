.PHONY: run test deploy-test lint format benchmark benchmark-inventory benchmark-retention benchmark-patterns benchmark-footprint clean

# Start the whole dashboard (web on :$PORT, Celery worker and beat) in the foreground.
run:
	bash scripts/run.sh

# Install what the tests need, then run them against real registries (Distribution v3.1.1 and
# 2.8.2), a Docker engine and Redis, which the test setup starts on private ports and stops at the
# end: every test on the embedded SQLite, then the database-heavy ones (-m database) again on a
# private PostgreSQL (TESTENV_DATABASE=postgres; testenv/postgres.py).
test:
	bash scripts/install-test-deps.sh
	bash scripts/ensure-venv.sh requirements-dev.txt
	.venv/bin/python -m pytest $(PYTEST_ARGS)
	TESTENV_DATABASE=postgres .venv/bin/python -m pytest -m database $(PYTEST_ARGS)

# Build the Docker image offline (debootstrap base) and boot web, worker and beat as
# docker-compose.yml defines them against a private engine, registry and Redis; log in and run a
# dry-run GC through the worker. Slow (minutes), so not part of `make test`: README, "Proof that it boots".
deploy-test:
	bash deploy/install-test-deps.sh
	bash scripts/ensure-venv.sh requirements-dev.txt
	TESTENV=off .venv/bin/python -m pytest deploy/tests -m deploy $(PYTEST_ARGS)

lint:
	.venv/bin/mypy core registry_client jobs catalog maintenance inventory registry_admin retention access
	.venv/bin/lint-imports
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

benchmark:
	bash scripts/install-test-deps.sh
	bash scripts/ensure-venv.sh requirements-dev.txt
	.venv/bin/python -m benchmarks

# The inventory's benchmark (issue 13): 10,000 repositories and 5,000 tags, seeded once into .testenv/.
benchmark-inventory:
	bash scripts/install-test-deps.sh
	bash scripts/ensure-venv.sh requirements-dev.txt
	.venv/bin/python -m benchmarks.inventory $(BENCH_ARGS)

# Retention previews (issue 14): 5,000 tags and 10,000 repositories, the inventory filled in the database.
benchmark-retention:
	bash scripts/ensure-venv.sh requirements-dev.txt
	.venv/bin/python -m benchmarks.retention $(BENCH_ARGS)

# User-given patterns against hostile names (issue 26): RE2 in-process, and /-/alive while 8 requests match them.
benchmark-patterns:
	bash scripts/install-test-deps.sh
	bash scripts/ensure-venv.sh requirements-dev.txt
	.venv/bin/python -m benchmarks.patterns $(BENCH_ARGS)

clean:
	rm -rf .venv staticfiles .pytest_cache .ruff_cache

# The whole dashboard's memory and idle CPU (issue 28), started as `make run` does.
benchmark-footprint:
	bash scripts/install-test-deps.sh
	bash scripts/ensure-venv.sh requirements-dev.txt
	.venv/bin/python -m benchmarks.footprint $(BENCH_ARGS)
