#!/usr/bin/python3
"""Peer for transform_bench: JSON lines -> flattened CSV the way a Firehose Lambda is usually
written in Python (json.loads, a recursive flatten, csv.DictWriter). Nested object keys are joined
with "_", arrays become minified JSON text, the header is every column in first-seen order.
  flatten_csv.py IN.jsonl OUT.csv            (plain script)
  flatten_csv.py --pandas IN.jsonl OUT.csv   (pandas.json_normalize(sep="_").to_csv)
"""
import csv
import json
import sys


def flatten(obj, prefix, out):
    for key, value in obj.items():
        name = prefix + key
        if isinstance(value, dict) and value:
            flatten(value, name + "_", out)
        elif isinstance(value, (dict, list)):
            out[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        elif value is None:
            out[name] = ""
        elif value is True or value is False:
            out[name] = "true" if value else "false"
        else:
            out[name] = value
    return out


def plain(src, dst):
    rows = []
    columns = {}
    with open(src, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = flatten(json.loads(line), "", {})
            for k in row:
                columns.setdefault(k, None)
            rows.append(row)
    with open(dst, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def with_pandas(src, dst):
    import pandas as pd

    with open(src, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    pd.json_normalize(records, sep="_").to_csv(dst, index=False)


if __name__ == "__main__":
    if sys.argv[1] == "--pandas":
        with_pandas(sys.argv[2], sys.argv[3])
    else:
        plain(sys.argv[1], sys.argv[2])
