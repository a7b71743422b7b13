#!/usr/bin/env python3
"""A loopback stand-in for the Kubernetes API server, for dnstrail's watch tests.

No kube-apiserver can run on these machines (no package, no container engine), so the
tests of `dnstrail live --kubernetes/--kubeconfig` talk to this instead. It speaks the
API's wire format for what dnstrail uses:

  GET /api/v1/pods, /api/v1/services            PodList / ServiceList with
      [?fieldSelector=spec.nodeName=N]          metadata.resourceVersion (and limit/continue
      [&labelSelector=k=v | k in (a,b)]         paging); items without kind, as the API sends
      [&limit=N&continue=T]
  GET ...?watch=true&resourceVersion=R          200, chunked, one JSON event per line:
      [&allowWatchBookmarks=true]               {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR",
      [&timeoutSeconds=S]                        "object":{...}}; the events after R first;
                                                ERROR with a 410 Status when R is older than
                                                the history kept ("too old resource version")
  any request without "Authorization: Bearer TOKEN" (with --token): 401 and a Status

over HTTPS with a certificate of a CA it makes with openssl at start (in STATE/certs:
ca.pem, server.pem/server.key, and another CA with its own server certificate, served with
--wrong-ca to check that clients refuse it).

It is driven through files in STATE/commands (read in name order, each once, then removed;
write them atomically: a temporary name not ending in .json, then rename):

  {"op":"event","resource":"pods","type":"ADDED|MODIFIED|DELETED","object":{...}}
  {"op":"bookmark","resource":"pods"}        a BOOKMARK to every open watch of pods
  {"op":"compact"}                           history forgotten: open watches get ERROR 410
                                             and end, and so does any watch from an older version
  {"op":"gone-next-watch","resource":"pods"} the next watch request of pods gets HTTP 410 Gone
                                             (only of pods: a Services watch that starts late
                                             must not take it)
  {"op":"drop-watches","resource":"pods"}    open watch streams are cut mid-event (TCP shutdown)

and says what it did in STATE/requests.log (one JSON object per request: method, path,
query, authorization, status; and {"tls":"handshake failed", ...}) and STATE/events.log
(one line per event sent: "sent TYPE RESOURCE NAMESPACE/NAME rv=N to K watches").
At start it writes STATE/kubeconfig (its CA, the token) and then STATE/port.

usage: kube-apiserver-standin.py STATE [--objects FILE] [--token TOKEN] [--wrong-ca]
                                       [--host 127.0.0.1] [--port 0]
"""

import argparse
import base64
import json
import os
import queue
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

RESOURCES = {"pods": ("Pod", "PodList"), "services": ("Service", "ServiceList")}


def make_certificates(directory):
    """CA + server certificate (SAN 127.0.0.1, ::1, localhost), and another CA's."""
    os.makedirs(directory, exist_ok=True)

    def run(*args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    extensions = os.path.join(directory, "san.cnf")
    with open(extensions, "w") as handle:
        handle.write("subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n"
                     "basicConstraints=critical,CA:FALSE\n"
                     "keyUsage=critical,digitalSignature,keyEncipherment\n"
                     "extendedKeyUsage=serverAuth\n")
    for prefix in ("", "other-"):
        ca_key = os.path.join(directory, prefix + "ca.key")
        ca = os.path.join(directory, prefix + "ca.pem")
        key = os.path.join(directory, prefix + "server.key")
        request = os.path.join(directory, prefix + "server.csr")
        certificate = os.path.join(directory, prefix + "server.pem")
        if os.path.exists(certificate):
            continue
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=dnstrail test %sCA" % prefix)
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", request, "-subj", "/CN=kube-apiserver stand-in")
        run("x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", certificate, "-days", "2", "-extfile", extensions)


def matches(obj, field_selector, label_selector):
    """The few selectors dnstrail sends: spec.nodeName=N; k=v and k in (a,b)."""
    if field_selector:
        for term in field_selector.split(","):
            key, _, value = term.partition("=")
            if key == "spec.nodeName" and (obj.get("spec") or {}).get("nodeName") != value:
                return False
    if label_selector:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        term = label_selector.strip()
        if " in " in term:
            key, _, values = term.partition(" in ")
            allowed = [v.strip() for v in values.strip().strip("()").split(",")]
            if labels.get(key.strip()) not in allowed:
                return False
        else:
            key, _, value = term.partition("=")
            if labels.get(key.strip()) != value.strip():
                return False
    return True


class State:
    def __init__(self, directory, objects):
        self.directory = directory
        self.lock = threading.Lock()
        self.version = 100
        self.floor = 100              # watches from an older version get 410
        self.objects = {name: {} for name in RESOURCES}
        self.history = []             # (version, resource, type, object)
        self.watches = []             # (resource, field selector, label selector, queue)
        self.gone_next_watch = set()  # resources whose next watch request gets HTTP 410
        for resource, items in (objects or {}).items():
            for item in items:
                self.version += 1
                item.setdefault("metadata", {})["resourceVersion"] = str(self.version)
                self.objects[resource][self.key(item)] = item
        self.floor = self.version

    @staticmethod
    def key(obj):
        metadata = obj.get("metadata") or {}
        return (metadata.get("namespace", "default"), metadata.get("name", ""))

    def log(self, name, line):
        with open(os.path.join(self.directory, name), "a") as handle:
            handle.write(line + "\n")

    def apply(self, command):
        op = command.get("op")
        with self.lock:
            if op == "event":
                resource, kind = command["resource"], command["type"]
                obj = json.loads(json.dumps(command["object"]))
                obj.setdefault("kind", RESOURCES[resource][0])
                obj.setdefault("apiVersion", "v1")
                self.version += 1
                obj.setdefault("metadata", {})["resourceVersion"] = str(self.version)
                if kind == "DELETED":
                    self.objects[resource].pop(self.key(obj), None)
                else:
                    self.objects[resource][self.key(obj)] = obj
                self.history.append((self.version, resource, kind, obj))
                sent = 0
                for watch in self.watches:
                    if watch[0] == resource and matches(obj, watch[1], watch[2]):
                        watch[3].put({"type": kind, "object": obj})
                        sent += 1
                namespace, name = self.key(obj)
                self.log("events.log", "sent %s %s %s/%s rv=%d to %d watches"
                         % (kind, resource, namespace, name, self.version, sent))
            elif op == "bookmark":
                for watch in self.watches:
                    if watch[0] == command["resource"]:
                        watch[3].put({"type": "BOOKMARK", "object": {
                            "kind": RESOURCES[watch[0]][0], "apiVersion": "v1",
                            "metadata": {"resourceVersion": str(self.version)}}})
                self.log("events.log", "sent BOOKMARK %s rv=%d" % (command["resource"], self.version))
            elif op == "compact":
                self.floor = self.version
                self.history = []
                for watch in self.watches:
                    watch[3].put("GONE")
                self.log("events.log", "compacted at rv=%d" % self.version)
            elif op == "gone-next-watch":
                self.gone_next_watch.add(command["resource"])
                self.log("events.log", "next %s watch gets HTTP 410" % command["resource"])
            elif op == "drop-watches":
                count = 0
                for watch in self.watches:
                    if watch[0] == command["resource"]:
                        watch[3].put("DROP")
                        count += 1
                self.log("events.log", "dropped %d %s watches" % (count, command["resource"]))

    def gone_status(self, version):
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "too old resource version: %s (%d)" % (version, self.floor),
                "reason": "Expired", "code": 410}


def poll_commands(state):
    spool = os.path.join(state.directory, "commands")
    os.makedirs(spool, exist_ok=True)
    while True:
        for name in sorted(os.listdir(spool)):
            if not name.endswith(".json"):
                continue
            path = os.path.join(spool, name)
            try:
                with open(path) as handle:
                    command = json.load(handle)
                state.apply(command)
            except Exception as error:  # a bad command is logged, the server goes on
                state.log("events.log", "bad command %s: %s" % (name, error))
            os.remove(path)
        time.sleep(0.05)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-standin"

    def log_message(self, *args):
        pass

    def record(self, status, query):
        self.server.state.log("requests.log", json.dumps({
            "method": self.command, "path": urlsplit(self.path).path,
            "query": {k: v[0] for k, v in query.items()},
            "authorization": self.headers.get("Authorization"), "status": status}))

    def send_json(self, status, body, query, close=False):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:  # said, so the client does not pool a connection this server then closes
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.record(status, query)

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_GET(self):
        state = self.server.state
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        token = self.server.token
        if token and self.headers.get("Authorization") != "Bearer " + token:
            return self.send_json(401, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401}, query)
        resource = url.path.rsplit("/", 1)[-1]
        if url.path not in ("/api/v1/pods", "/api/v1/services"):
            return self.send_json(404, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                        "message": "the server could not find the requested resource",
                                        "reason": "NotFound", "code": 404}, query)
        field = query.get("fieldSelector", [""])[0]
        label = query.get("labelSelector", [""])[0]
        if query.get("watch", [""])[0] in ("true", "1"):
            return self.watch(state, resource, field, label, query)
        with state.lock:
            items = [obj for _, obj in sorted(state.objects[resource].items()) if matches(obj, field, label)]
            version = state.version
        offset = int(query.get("continue", ["0"])[0] or 0)
        limit = int(query.get("limit", ["0"])[0] or 0)
        page = items[offset:offset + limit] if limit else items[offset:]
        metadata = {"resourceVersion": str(version)}
        if limit and offset + limit < len(items):
            metadata["continue"] = str(offset + limit)
        listed = []
        for obj in page:  # list items carry no kind or apiVersion
            obj = dict(obj)
            obj.pop("kind", None)
            obj.pop("apiVersion", None)
            listed.append(obj)
        self.send_json(200, {"kind": RESOURCES[resource][1], "apiVersion": "v1", "metadata": metadata,
                             "items": listed}, query)

    def watch(self, state, resource, field, label, query):
        version = query.get("resourceVersion", [""])[0]
        timeout = float(query.get("timeoutSeconds", ["1800"])[0])
        events = queue.Queue()
        with state.lock:
            if resource in state.gone_next_watch:
                state.gone_next_watch.discard(resource)
                status = state.gone_status(version)
                gone = True
            else:
                gone = False
                too_old = version != "" and int(version) < state.floor
                backlog = [] if too_old else [
                    {"type": kind, "object": obj} for v, r, kind, obj in state.history
                    if r == resource and (version == "" or v > int(version)) and matches(obj, field, label)]
                state.watches.append((resource, field, label, events))
        if gone:
            return self.send_json(410, status, query, close=True)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")  # each watch stream ends its connection
        self.end_headers()
        self.record(200, query)
        try:
            if too_old:
                self.write_chunk(json.dumps({"type": "ERROR", "object": state.gone_status(version)}).encode() + b"\n")
                self.wfile.write(b"0\r\n\r\n")
                return
            for event in backlog:
                self.write_chunk(json.dumps(event).encode() + b"\n")
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    event = events.get(timeout=0.2)
                except queue.Empty:
                    continue
                if event == "GONE":
                    self.write_chunk(json.dumps({"type": "ERROR", "object": state.gone_status(version)}).encode() + b"\n")
                    break
                if event == "DROP":
                    self.write_chunk(b'{"type":"MODIFIED","object":{"kind":"Po')
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.write_chunk(json.dumps(event).encode() + b"\n")
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        finally:
            with state.lock:
                state.watches = [w for w in state.watches if w[3] is not events]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        try:
            connection = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as error:
            self.state.log("requests.log", json.dumps({"tls": "handshake failed", "error": str(error)}))
            return
        self.RequestHandlerClass(connection, client_address, self)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("state")
    parser.add_argument("--objects")
    parser.add_argument("--token", default="")
    parser.add_argument("--wrong-ca", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    directory = os.path.abspath(arguments.state)
    certificates = os.path.join(directory, "certs")
    make_certificates(certificates)
    objects = None
    if arguments.objects:
        with open(arguments.objects) as handle:
            objects = json.load(handle)
    state = State(directory, objects)
    server = Server((arguments.host, arguments.port), Handler)
    server.state = state
    server.token = arguments.token
    server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    prefix = "other-" if arguments.wrong_ca else ""
    server.tls.load_cert_chain(os.path.join(certificates, prefix + "server.pem"),
                               os.path.join(certificates, prefix + "server.key"))
    port = server.server_address[1]
    with open(os.path.join(certificates, "ca.pem"), "rb") as handle:
        authority = base64.b64encode(handle.read()).decode()
    with open(os.path.join(directory, "kubeconfig"), "w") as handle:
        handle.write("""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: %s
    server: https://%s:%d
  name: standin
contexts:
- context:
    cluster: standin
    namespace: default
    user: dnstrail
  name: standin
current-context: standin
preferences: {}
users:
- name: dnstrail
  user:
    token: %s
""" % (authority, arguments.host, port, arguments.token or "no-token"))
    threading.Thread(target=poll_commands, args=(state,), daemon=True).start()
    with open(os.path.join(directory, "port.tmp"), "w") as handle:
        handle.write("%d\n" % port)
    os.rename(os.path.join(directory, "port.tmp"), os.path.join(directory, "port"))
    sys.stdout.write("listening on %s:%d\n" % (arguments.host, port))
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
