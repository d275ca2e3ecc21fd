#!/usr/bin/env python3
# pyroscope-standin.py PORT DIR [REFUSE]: a stand-in for a Pyroscope server on
# 127.0.0.1:PORT, for the tests of serve --push: each POST's method, path and
# query, and Content-Type, in DIR/NNN.req, its body in DIR/NNN.body; answers 200,
# or the status written in the file REFUSE while it exists.
import http.server
import os
import sys

n = [0]


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        n[0] += 1
        d = os.path.join(sys.argv[2], "%03d" % n[0])
        with open(d + ".body", "wb") as f:
            f.write(body)
        with open(d + ".req", "w") as f:
            f.write("%s %s\n%s\n" % (self.command, self.path, self.headers.get("Content-Type")))
        refuse = sys.argv[3] if len(sys.argv) > 3 else None
        code = int(open(refuse).read()) if refuse and os.path.exists(refuse) else 200
        self.send_response(code)
        self.end_headers()

    def log_message(self, *a):
        pass


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
