"""The one real-server, real-browser harness shared by `tests/e2e/`, `bench/` and `scripts/`.

- `harness.server`: `StreamlitServer`, the app (or any script) started headless on a free port
  of 127.0.0.1 in its own process group, stopped with the whole group whatever happens.
- `harness.browser`: Chromium through Playwright, an offline browser context, waiting until a
  page has settled, the checks every page must pass, and full-page screenshots.
- `harness.postgres`, `harness.nginx`, `harness.app_learners`: a PostgreSQL cluster, nginx with
  the deploy config, app replicas and learners driving them, each in a temp dir on free
  loopback ports (`harness.ports`), stopped afterwards.

It imports neither pytest nor `tests/`: the pytest layer (skips, fixtures, the page list) is
`tests/e2e/harness.py`.
"""
