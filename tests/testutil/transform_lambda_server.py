#!/usr/bin/python3
"""A Firehose data-transformation Lambda over HTTP, for tests. Prints "PORT <n>" when ready.

Behaviour by request path:
  /ok, /2015-03-31/functions/<name>/invocations   transform: data upper-cased; records whose
        data contains "drop" are Dropped, "fail" ProcessingFailed; a JSON object with "pk"
        gets metadata.partitionKeys {"pk": <value>}
  /missing    omits the last record          /dup      repeats the first record
  /unknown    renames the first recordId     /invalid  answers "not json"
  /timeout    answers after 5 s              /function-error  200 with X-Amz-Function-Error
  /flaky      HTTP 500 for the first 2 requests, then /ok behaviour
  /events     (GET) the JSON events received so far, one per line
"""
import base64
import http.server
import json
import sys
import threading
import time

lock = threading.Lock()
events = []
flaky_count = [0]


def transform(records):
    out = []
    for r in records:
        data = base64.b64decode(r["data"])
        rec = {"recordId": r["recordId"]}
        if b"drop" in data:
            rec["result"] = "Dropped"
        elif b"fail" in data:
            rec["result"] = "ProcessingFailed"
        else:
            rec["result"] = "Ok"
            rec["data"] = base64.b64encode(data.upper()).decode()
            try:
                obj = json.loads(data)
                if isinstance(obj, dict) and "pk" in obj:
                    rec["metadata"] = {"partitionKeys": {"pk": str(obj["pk"])}}
            except ValueError:
                pass
        out.append(rec)
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            body = "".join(json.dumps(e) + "\n" for e in events).encode()
        self.reply(200, body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        event = json.loads(body)
        with lock:
            events.append(event)
        path = self.path
        records = transform(event["records"])
        if path == "/timeout":
            time.sleep(5)
        elif path == "/invalid":
            return self.reply(200, b"not json")
        elif path == "/function-error":
            return self.reply(200, b'{"errorMessage":"boom"}', {"X-Amz-Function-Error": "Unhandled"})
        elif path == "/flaky":
            with lock:
                flaky_count[0] += 1
                n = flaky_count[0]
            if n <= 2:
                return self.reply(500, b"try again")
        elif path == "/missing":
            records = records[:-1]
        elif path == "/dup":
            records = records + records[:1]
        elif path == "/unknown":
            records[0]["recordId"] = "nope"
        self.reply(200, json.dumps({"records": records}).encode(),
                   {"Content-Type": "application/json"})


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print("PORT %d" % server.server_address[1], flush=True)
server.serve_forever()
