#!/usr/bin/env python3
"""TLS in front of the fake GitHub server, for tests/security.bats.

    tls_proxy.py --cert CERT --key KEY --upstream PORT [--port-file FILE] [--watch-pid PID]

Listens on 127.0.0.1 (an ephemeral port, printed as the first line of stdout
and written to --port-file), terminates TLS with CERT/KEY and relays the
plain bytes both ways to 127.0.0.1:UPSTREAM (tests/fake-github/server.py),
so the tools can be shown to refuse an untrusted certificate and to accept
it once SSL_CERT_FILE or CURL_CA_BUNDLE names it. A client that refuses the
certificate aborts the handshake: nothing reaches the upstream, so the fake
server's request log shows that no request was sent.
Standard library only. SIGTERM/SIGINT stop it; so does --watch-pid's end.
"""
import argparse
import os
import signal
import socket
import ssl
import sys
import threading
import time


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass


def serve_one(raw, ctx, upstream):
    try:
        raw.settimeout(30)
        tls = ctx.wrap_socket(raw, server_side=True)
        tls.settimeout(None)
    except (OSError, ssl.SSLError):
        raw.close()  # e.g. the client refused our certificate
        return
    try:
        up = socket.create_connection(("127.0.0.1", upstream), timeout=10)
        up.settimeout(None)
    except OSError:
        tls.close()
        return
    t = threading.Thread(target=pump, args=(up, tls), daemon=True)
    t.start()
    pump(tls, up)
    t.join(timeout=310)
    tls.close()
    up.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--port-file")
    ap.add_argument("--watch-pid", type=int)
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    port = lsock.getsockname()[1]

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    if args.watch_pid:
        def watch():
            while True:
                try:
                    os.kill(args.watch_pid, 0)
                except ProcessLookupError:
                    os._exit(0)
                except PermissionError:
                    pass
                time.sleep(1)
        threading.Thread(target=watch, daemon=True).start()

    print(port, flush=True)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)

    while True:
        try:
            raw, _ = lsock.accept()
        except OSError:
            continue
        threading.Thread(target=serve_one, args=(raw, ctx, args.upstream), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
