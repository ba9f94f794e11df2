# nb2pipe: two commands for a fresh machine.
#   make demo   set everything up, then lint (and fix a copy of) the sample notebooks
#   make test   set everything up, then run the whole test suite
.PHONY: demo test setup docs docs-serve docs-pictures bench clean

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

setup:
	./scripts/setup.sh

docs:
	./scripts/setup.sh && .venv/bin/python scripts/build_docs.py

docs-serve:
	./scripts/setup.sh && .venv/bin/python scripts/build_docs.py --for-server \
	  && .venv/bin/python -m http.server 8000 --bind 127.0.0.1 --directory .cache/site

docs-pictures:
	./scripts/docs_pictures.sh

bench:
	./scripts/setup.sh && .venv/bin/python benchmarks/bench_check.py

clean:
	rm -rf .venv .cache demo-output
