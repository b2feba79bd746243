#!/usr/bin/env python3
"""A local RFC 3161 time-stamp authority for the tests: `openssl ts -reply` behind HTTP.

Usage: tsa_server.py PKI_DIR [--tls]
Listens on a free port of 127.0.0.1, prints that port on the first line of stdout, and
serves until killed. With --tls it serves HTTPS with tls-server.pem (for 127.0.0.1 and
localhost, issued by tls-root.pem). POST /tsa answers a time-stamp query; POST /tsa-long-chain answers it
with a token carrying 25 more certificates (about 21 KB, more than a signer reserves for a
token); POST /broken answers HTTP 500.
"""
import http.server
import os
import ssl
import subprocess
import sys
import tempfile

PKI = os.path.abspath(sys.argv[1])
SECTIONS = {"/tsa": "tsa_config", "/tsa-long-chain": "tsa_long_chain"}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        section = SECTIONS.get(self.path)
        if section is None:
            self.send_error(500, "broken on purpose")
            return
        with tempfile.TemporaryDirectory() as tmp:
            query_file = os.path.join(tmp, "query.tsq")
            reply_file = os.path.join(tmp, "reply.tsr")
            with open(query_file, "wb") as f:
                f.write(query)
            subprocess.run(
                ["openssl", "ts", "-reply", "-config", os.path.join(PKI, "tsa.cnf"),
                 "-section", section, "-queryfile", query_file, "-out", reply_file],
                check=True, capture_output=True, cwd=PKI)
            with open(reply_file, "rb") as f:
                reply = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if "--tls" in sys.argv[2:]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(PKI, "tls-server.pem"), os.path.join(PKI, "tls-server.key"))
    # A handshake the client refuses fails in accept(), an OSError the server ignores.
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
