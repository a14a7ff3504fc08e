#!/usr/bin/python3
"""Writes examples/orders/orders.jsonl: nested order records, some breaking the business rules."""
import json
import random
import sys

random.seed(42)
CITIES = [("Lyon", "FR"), ("Austin", "US"), ("Osaka", "JP"), ("Zürich", "CH"), ("Porto", None)]
SKUS = ["SKU-RED-1", "SKU-BLU-2", "SKU-GRN-3", "SKU-\"QUOTED\"-4", "SKU,COMMA-5"]

out = []
for n in range(1, 41):
    city, country = random.choice(CITIES)
    shipping = {"city": city, "street": f"{n} Main St"}
    if country:
        shipping["country"] = country
    order = {
        "order_id": 1000 + n,
        "created_at": f"2026-11-25T10:{n % 60:02d}:00Z",
        "status": "test" if n % 13 == 0 else random.choice(["paid", "shipped"]),
        "customer": {
            "id": 500 + n % 7,
            "email": f"customer{n % 7}@example.com",
            "address": {"shipping": shipping, "billing": {"city": city}},
        },
        "items": [
            {"line": i + 1, "sku": random.choice(SKUS), "qty": random.randint(1, 4),
             "unit_price": round(random.uniform(1, 90), 2)}
            for i in range(random.randint(1, 3))
        ],
        "tags": ["web", "promo"] if n % 4 == 0 else [],
    }
    if n % 11 == 0:
        order["items"][0]["qty"] = 0            # breaks "quantity must be positive"
    if n % 17 == 0:
        order["items"][-1]["unit_price"] = -5   # breaks "negative unit price"
    if n == 23:
        order["order_id"] = "not-a-number"      # fails the schema (bigint)
    out.append(json.dumps(order, ensure_ascii=False))
out.append('{"order_id": 9999, "items": [')       # invalid JSON: reaches the failed folder

path = sys.argv[1] if len(sys.argv) > 1 else "orders.jsonl"
with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(out) + "\n")
