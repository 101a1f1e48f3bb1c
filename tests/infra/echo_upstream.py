"""A tiny stand-in for one Streamlit replica, for the nginx tests (`python echo_upstream.py NAME`).

It binds a free loopback port and prints it. `GET /` answers JSON naming the replica and the
cookies it received; `/_stcore/health` answers "ok"; `/_stcore/stream` is a WebSocket that
greets with the replica's name and echoes messages prefixed with it.
"""

from __future__ import annotations

import asyncio
import json
import sys

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

NAME = sys.argv[1] if len(sys.argv) > 1 else "replica"


class Main(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps({"replica": NAME, "cookie": self.request.headers.get("Cookie", "")}))


class Health(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("ok")


class Stream(tornado.websocket.WebSocketHandler):
    def open(self) -> None:
        self.write_message(f"hello from {NAME}")

    def on_message(self, message) -> None:
        self.write_message(f"{NAME}:{message}")


async def main() -> None:
    app = tornado.web.Application(
        [(r"/_stcore/health", Health), (r"/_stcore/stream", Stream), (r"/.*", Main)]
    )
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    print(sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
