.PHONY: run test setup migration
run:   ## set up and serve on http://127.0.0.1:5000 with the demo data
	scripts/run.sh
test:  ## set up and run the whole suite (SQLite, then PostgreSQL, browser tests in Chromium)
	scripts/test.sh
setup:
	scripts/setup.sh
