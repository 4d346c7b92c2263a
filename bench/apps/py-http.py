# A minimal HTTP server in plain Python for the programs benchmark: answers every GET with its pid.
# One file for both managers, so that the instances run the same code:
# - socket-activated (clusterd's `listen`): when LISTEN_FDS=1 and LISTEN_PID is its own pid, it serves
#   on file descriptor 3, the socket the supervisor listens on for every instance;
# - otherwise (PM2 fork mode) it binds 127.0.0.1:$PORT itself, one port per instance.
import http.server
import os
import signal
import socket
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{os.getpid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


# A graceful stop, as a real server does: a request being served is answered first. (Not
# server.shutdown(): on a shared blocking socket, a loser of an accept race waits in accept() and would
# not see the request to stop.)
busy = False
stopping = False


class Server(http.server.HTTPServer):
    # From the moment a connection is accepted until it is closed.
    def get_request(self):
        global busy
        request = super().get_request()
        busy = True
        return request

    def shutdown_request(self, request):
        global busy
        super().shutdown_request(request)
        busy = False
        if stopping:
            sys.exit(0)


def on_term(*_):
    global stopping
    if busy:
        stopping = True
    else:
        sys.exit(0)


activated = os.environ.get("LISTEN_FDS") == "1" and os.environ.get("LISTEN_PID") == str(os.getpid())
if activated:
    server = Server(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.socket = socket.socket(fileno=3)
else:
    server = Server(("127.0.0.1", int(os.environ["PORT"])), Handler)
signal.signal(signal.SIGTERM, on_term)
server.serve_forever()
