"""Real components started by the tests themselves: a PostgreSQL cluster, nginx, and tiny
HTTP/WebSocket upstreams, each in a temp dir on free loopback ports, stopped afterwards."""
