// Fuzz target for the CBOR request path (api/cbor_json.h): hostile bytes into CborRequestToJson,
// and whatever it accepts back through JsonResponseToCbor and CborRequestToJson again.
// Checked: no crash, no sanitizer report, and two invariants:
//   - accepted CBOR becomes JSON that simdjson parses (numbers beyond 64 bits aside), and
//   - CBOR our encoder writes is CBOR our decoder reads.
//
// Built two ways (tests/fuzz/CMakeLists.txt):
//   - with clang and -DSLUICE_FUZZ=ON: a libFuzzer binary `cbor_fuzz` (fuzzer,address);
//       build-fuzz/tests/fuzz/cbor_fuzz -max_total_time=300 tests/fuzz/corpus/cbor
//   - otherwise: `cbor_fuzz_replay DIR...`, which runs every file of the corpus dirs once (ctest
//     fuzz_cbor_corpus replays tests/fuzz/corpus/cbor, so `make test` exercises it).
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/cbor_json.h"
#include "fuzz/fuzz_check.h"

namespace {

void Check(bool ok, const char* what, std::string_view detail) {
  sluice::fuzz::Check(ok, "cbor_fuzz", what, detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  sluice::Result<std::string> json = sluice::api::CborRequestToJson(input);
  if (!json.ok()) return 0;

  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::error_code err = parser.parse(json->data(), json->size(), true).get(root);
  // simdjson refuses integers beyond 64 bits (-18446744073709551616 is valid CBOR and JSON).
  Check(err == simdjson::SUCCESS || err == simdjson::NUMBER_ERROR ||
            err == simdjson::NUMBER_OUT_OF_RANGE,
        "accepted CBOR became invalid JSON", *json);
  if (err != simdjson::SUCCESS) return 0;

  // JsonResponseToCbor may refuse (a "Data" string that is not base64, a timestamp out of
  // range); what it writes must decode.
  sluice::Result<std::string> cbor = sluice::api::JsonResponseToCbor(*json);
  if (!cbor.ok()) return 0;
  sluice::Result<std::string> again = sluice::api::CborRequestToJson(*cbor);
  Check(again.ok(), "our own CBOR does not decode", again.ok() ? "" : again.status().message());
  return 0;
}

#ifdef SLUICE_FUZZ_REPLAY_MAIN
#include "fuzz_main.h"
#endif
