// A deterministic, seeded corpus of wide webhook-style JSON documents (issue 15), one per line:
// hundreds of distinct key paths (sections × fields from fixed pools), objects nested 6 levels
// deep, arrays of objects, long strings with escapes (\" \\ \n \t \uXXXX, surrogate pairs) and
// raw UTF-8, numbers of every JSON shape (negative, fractions, exponents, 25 significant digits,
// unsigned 64-bit integers),
// missing fields, nulls, booleans, empty arrays and objects, and a key order that varies from
// document to document. The same (target_bytes, seed) gives the same bytes on every machine.
#pragma once

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace sluice::bench {

namespace wide_detail {

inline const char* const kSections[] = {
    "billing",   "shipping", "account",  "device",    "session",    "campaign", "payment",
    "risk",      "fraud",    "invoice",  "plan",      "usage",      "support",  "ticket",
    "webhook",   "request",  "response", "browser",   "network",    "location", "consent",
    "profile",   "settings", "audit",    "security",  "shipment",   "carrier",  "warehouse",
    "inventory", "pricing",  "discount", "tax",       "refund",     "dispute",  "payout",
    "balance",   "transfer", "merchant", "store",     "product",    "variant",  "review",
    "rating",    "survey",   "referral", "affiliate", "experiment", "feature",  "release",
    "build",     "deploy",   "incident", "alert",     "metric",     "trace",    "span",
    "tenant",    "org",      "team",     "role"};
inline const char* const kFields[] = {
    "id",          "name",         "status", "created_at", "updated_at", "amount",
    "currency",    "count",        "ratio",  "enabled",    "note",       "code",
    "description", "external_ref", "score",  "version",    "region",     "owner"};
inline const char* const kTypes[] = {"invoice.paid",         "charge.refunded", "customer.updated",
                                     "order.created",        "payout.failed",   "review.posted",
                                     "subscription.renewed", "ticket.closed"};
// Pieces of long strings: ASCII prose, CSV specials, JSON escapes, raw UTF-8, \u escapes.
inline const char* const kPieces[] = {
    "The quick brown fox jumps over the lazy dog. ", "She said \\\"hello, world\\\" and left; ",
    "line one\\nline two\\r\\n\\ttabbed, ",          "path C:\\\\Users\\\\data\\\\file.csv ",
    "Zürich São Paulo Kraków Ærøskøbing ",           "日本語のテキスト、中文文本 ",
    "caf\\u00e9 na\\u00efve \\u2014 dash \\u20ac5 ", "emoji \\ud83d\\ude00 and 🚀 raw ",
    "comma,separated,values,\\\"quoted\\\" ",        "    spaces    and\\ttabs    ",
};

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  uint64_t Next() { return rng_(); }
  uint64_t Below(uint64_t n) { return rng_() % n; }
  bool Chance(unsigned percent) { return Below(100) < percent; }

  void Number(std::string& out) {
    char buf[64];
    int n = 0;
    switch (Below(9)) {
      case 0: n = std::snprintf(buf, sizeof buf, "%llu", ull(Below(1000))); break;
      case 1: n = std::snprintf(buf, sizeof buf, "-%llu", ull(Below(1000000))); break;
      case 2:
        n = std::snprintf(buf, sizeof buf, "%llu.%02llu", ull(Below(100000)), ull(Below(100)));
        break;
      case 3:
        n = std::snprintf(buf, sizeof buf, "-%llu.%06llu", ull(Below(100)), ull(Below(1000000)));
        break;
      case 4:
        n = std::snprintf(buf, sizeof buf, "%llu.%llue-%llu", ull(Below(10)), ull(Below(1000)),
                          ull(1 + Below(20)));
        break;
      case 5:
        n = std::snprintf(buf, sizeof buf, "-%lluE+%llu", ull(1 + Below(9)), ull(Below(300)));
        break;
      case 6:
        // 25 significant digits (past double precision); integers stay within 64 bits, which
        // simdjson's DOM parse (the parse-only ceiling) requires.
        n = std::snprintf(buf, sizeof buf, "%llu.%llu", ull(Next() % 10000000000ull),
                          ull(Next() % 1000000000000000ull));
        break;
      case 7: n = std::snprintf(buf, sizeof buf, "%s", Chance(50) ? "0" : "-0.0"); break;
      default: n = std::snprintf(buf, sizeof buf, "%llu", ull(Next())); break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  void ShortString(std::string& out) {
    static const char* const kWords[] = {"alpha", "beta", "gamma",     "Delta Co", "São", "x\\\"y",
                                         "n/a",   "a,b",  "tab\\tsep", "ünïcödé",  "EUR", "ok"};
    out += '"';
    out += kWords[Below(12)];
    if (Chance(50)) {
      char buf[24];
      int n = std::snprintf(buf, sizeof buf, "-%llu", ull(Below(100000)));
      out.append(buf, static_cast<size_t>(n));
    }
    out += '"';
  }
  void LongString(std::string& out, size_t min_bytes) {
    out += '"';
    const size_t start = out.size();
    while (out.size() - start < min_bytes) out += kPieces[Below(sizeof kPieces / sizeof *kPieces)];
    out += '"';
  }
  void Scalar(std::string& out, const char* field) {
    if (Chance(6)) {
      out += "null";
      return;
    }
    std::string_view f = field;
    if (f == "enabled") {
      out += Chance(50) ? "true" : "false";
    } else if (f == "amount" || f == "count" || f == "ratio" || f == "score" || f == "version") {
      Number(out);
    } else if (f == "description" || f == "note") {
      LongString(out, f == "note" ? 40 : 120 + Below(400));
    } else if (f == "created_at" || f == "updated_at") {
      char buf[40];
      int n = std::snprintf(buf, sizeof buf, "\"2026-%02llu-%02lluT%02llu:%02llu:%02lluZ\"",
                            ull(1 + Below(12)), ull(1 + Below(28)), ull(Below(24)), ull(Below(60)),
                            ull(Below(60)));
      out.append(buf, static_cast<size_t>(n));
    } else {
      ShortString(out);
    }
  }
  // Writes `n` of the indexes 0..count-1 in a random order (a random subset when n < count).
  std::vector<unsigned> Pick(unsigned count, unsigned n) {
    std::vector<unsigned> idx(count);
    for (unsigned i = 0; i < count; ++i) idx[i] = i;
    for (unsigned i = 0; i < n && i + 1 < count; ++i) {
      unsigned j = i + static_cast<unsigned>(Below(count - i));
      std::swap(idx[i], idx[j]);
    }
    idx.resize(n);
    return idx;
  }

 private:
  static unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }
  std::mt19937_64 rng_;
};

inline void Key(std::string& out, bool& first, const char* key) {
  if (!first) out += ',';
  first = false;
  out += '"';
  out += key;
  out += "\":";
}

// A section object: a random subset of the fields in a random order, sometimes a nested object
// five levels deeper, an array of objects or an empty container.
inline void Section(Gen& g, std::string& out, unsigned depth) {
  constexpr unsigned kFieldCount = sizeof kFields / sizeof *kFields;
  out += '{';
  bool first = true;
  for (unsigned f : g.Pick(kFieldCount, 4 + static_cast<unsigned>(g.Below(10)))) {
    Key(out, first, kFields[f]);
    g.Scalar(out, kFields[f]);
  }
  if (depth == 0 && g.Chance(40)) {
    // 6 levels: section.details.meta.geo.point.precision.*
    Key(out, first, "details");
    out += R"({"meta":{"geo":{"point":{"precision":{"meters":)";
    g.Number(out);
    out += R"(,"source":)";
    g.ShortString(out);
    out += "},\"lat\":";
    g.Number(out);
    out += ",\"lng\":";
    g.Number(out);
    out += "},\"country\":";
    g.ShortString(out);
    out += "}}}";
  }
  if (depth == 0 && g.Chance(25)) {
    Key(out, first, "entries");
    out += '[';
    unsigned n = static_cast<unsigned>(g.Below(4));
    for (unsigned i = 0; i < n; ++i) {
      if (i) out += ',';
      Section(g, out, depth + 1);
    }
    out += ']';
  }
  if (g.Chance(5)) {
    Key(out, first, "extra");
    out += g.Chance(50) ? "{}" : "[]";
  }
  out += '}';
}

inline void Document(Gen& g, uint64_t id, std::string& out) {
  constexpr unsigned kSectionCount = sizeof kSections / sizeof *kSections;
  // Top-level keys: 0 id, 1 type, 2 created, 3 livemode, 4 api_version, 5 data, 6 line_items,
  // 7 tags, 8 message; written in a random order.
  out += '{';
  bool first = true;
  for (unsigned k : g.Pick(9, 9)) {
    char buf[64];
    switch (k) {
      case 0: {
        Key(out, first, "id");
        int n = std::snprintf(buf, sizeof buf, "\"evt_%016llx\"",
                              static_cast<unsigned long long>(id * 0x9E3779B97F4A7C15ull));
        out.append(buf, static_cast<size_t>(n));
        break;
      }
      case 1:
        Key(out, first, "type");
        out += '"';
        out += kTypes[g.Below(sizeof kTypes / sizeof *kTypes)];
        out += '"';
        break;
      case 2: {
        Key(out, first, "created");
        int n = std::snprintf(buf, sizeof buf, "%llu",
                              static_cast<unsigned long long>(1700000000 + id * 7));
        out.append(buf, static_cast<size_t>(n));
        break;
      }
      case 3:
        Key(out, first, "livemode");
        out += g.Chance(50) ? "true" : "false";
        break;
      case 4:
        if (g.Chance(20)) break;  // missing
        Key(out, first, "api_version");
        if (g.Chance(30))
          out += "null";
        else
          out += "\"2026-06-30\"";
        break;
      case 5: {
        Key(out, first, "data");
        out += "{\"object\":{";
        bool inner = true;
        for (unsigned s : g.Pick(kSectionCount, 10 + static_cast<unsigned>(g.Below(12)))) {
          Key(out, inner, kSections[s]);
          if (g.Chance(3)) {
            out += "null";
          } else {
            Section(g, out, 0);
          }
        }
        out += "}";
        if (g.Chance(50)) {
          out += ",\"previous_attributes\":";
          Section(g, out, 1);
        }
        out += "}";
        break;
      }
      case 6: {
        Key(out, first, "line_items");
        out += '[';
        unsigned n = static_cast<unsigned>(g.Below(6));
        for (unsigned i = 0; i < n; ++i) {
          if (i) out += ',';
          Section(g, out, 1);
        }
        out += ']';
        break;
      }
      case 7:
        Key(out, first, "tags");
        out += g.Chance(30) ? "[]" : R"(["webhook","v2","tag,with,commas"])";
        break;
      default:
        Key(out, first, "message");
        g.LongString(out, 200 + g.Below(1200));
        break;
    }
  }
  out += "}\n";
}

}  // namespace wide_detail

// About `target_bytes` of JSON lines (stops at the first document past it), ~10 KB a document.
inline std::string GenerateWideCorpus(size_t target_bytes, uint64_t seed = 15) {
  wide_detail::Gen g(seed);
  std::string out;
  out.reserve(target_bytes + 64 * 1024);
  for (uint64_t id = 1; out.size() < target_bytes; ++id) wide_detail::Document(g, id, out);
  return out;
}

}  // namespace sluice::bench
