"""The tests' own upstreams and the pytest fixtures around the real components: tiny
HTTP/WebSocket upstreams for nginx and a class answering through the progress store. The
components themselves (PostgreSQL, nginx, app replicas and their learners, free ports) are in
`harness/`, shared with `bench/` and `scripts/`."""
