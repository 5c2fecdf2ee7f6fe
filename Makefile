.PHONY: run debug test setup migration
run:   ## set up and serve on http://127.0.0.1:5000 with gunicorn (gunicorn.conf.py) and the demo data
	scripts/run.sh
debug: ## the same with Flask's development server (debugger, reloader): never expose it
	scripts/run.sh --debug
test:  ## set up and run the whole test suite (SQLite, then PostgreSQL, browser tests in Chromium)
	scripts/test.sh
setup:
	scripts/setup.sh
