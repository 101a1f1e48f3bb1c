"""The test and bench harness's server launcher survives a port that was taken between
`free_port()` and Streamlit binding it (a bench run once failed that way: "streamlit exited with 1")."""

from __future__ import annotations

import socket

from harness.server import StreamlitServer, streamlit_run


def test_a_port_taken_before_streamlit_binds_it_is_replaced_by_a_fresh_one(tmp_path):
    script = tmp_path / "bare.py"
    script.write_text('import streamlit as st\n\nst.title("hello")\n')
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        server = StreamlitServer(launch=streamlit_run(script), cwd=tmp_path)
        server.port, server.url = taken, f"http://127.0.0.1:{taken}"  # as if someone took it first
        with server:
            assert server.port != taken
            assert server.url == f"http://127.0.0.1:{server.port}"
            assert server.health_s is not None
