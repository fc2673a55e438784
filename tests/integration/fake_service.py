"""Stand-in for a service in launcher tests: serves /healthz on $<NAME>_PORT (run as a script)."""

import http.server
import os
import sys

name = sys.argv[1]
port = int(os.environ[name.upper() + "_PORT"])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = name.encode()
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


http.server.HTTPServer((os.environ["HOST"], port), Handler).serve_forever()
