// Fuzz target for the Firehose AWS JSON request path (api/firehose_handler.h, api/json_input.h):
// hostile bodies for every operation into FirehoseHandler, on an in-memory backend holding the
// delivery streams "s" (Direct PUT) and "k" (reading a Kinesis stream).
// Input: the first byte picks the operation, the rest is the request body.
// Checked: no crash, no sanitizer report, and
//   - every request is answered exactly once, synchronously (the backend completes at once),
//   - nothing answers 5xx (bad input is a client error, never InternalFailure),
//   - every answer is a JSON object, and every error answer names its type in "__type".
//
// Built as firehose_fuzz (libFuzzer, `make fuzz`) and firehose_fuzz_replay (ctest
// fuzz_firehose_corpus replays tests/fuzz/corpus/firehose); see tests/fuzz/CMakeLists.txt.
#include <simdjson.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/firehose_handler.h"
#include "fuzz/fuzz_check.h"
#include "testutil/api_fake_backend.h"

namespace {

constexpr std::array<std::string_view, 11> kOperations = {"PutRecord",
                                                          "PutRecordBatch",
                                                          "CreateDeliveryStream",
                                                          "DescribeDeliveryStream",
                                                          "ListDeliveryStreams",
                                                          "DeleteDeliveryStream",
                                                          "UpdateDestination",
                                                          "TagDeliveryStream",
                                                          "UntagDeliveryStream",
                                                          "ListTagsForDeliveryStream",
                                                          "StartDeliveryStreamEncryption"};

void Check(bool ok, const char* what, std::string_view detail) {
  sluice::fuzz::Check(ok, "firehose_fuzz", what, detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  sluice::testutil::ApiFakeBackend backend;
  backend.AddStream("s");
  backend.AddStream("k", "KinesisStreamAsSource");
  sluice::api::FirehoseHandler handler(backend);

  sluice::api::HttpRequest request;
  request.method = "POST";
  request.target = "/";
  const std::string_view op = kOperations[data[0] % kOperations.size()];
  request.headers = {{"X-Amz-Target", "Firehose_20150804." + std::string(op)},
                     {"Content-Type", "application/x-amz-json-1.1"}};
  request.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);

  int answers = 0;
  sluice::api::HttpResponse response;
  handler.Handle(std::move(request), [&](sluice::api::HttpResponse r) {
    ++answers;
    response = std::move(r);
  });
  Check(answers == 1, "not answered exactly once", op);
  Check(response.status < 500, "answered 5xx", response.body);

  thread_local simdjson::dom::parser parser;
  simdjson::dom::object object;
  Check(parser.parse(response.body).get(object) == simdjson::SUCCESS, "answer is not a JSON object",
        response.body);
  if (response.status != 200) {
    std::string_view type;
    Check(object["__type"].get(type) == simdjson::SUCCESS && !type.empty(), "error without __type",
          response.body);
  }
  return 0;
}

#ifdef SLUICE_FUZZ_REPLAY_MAIN
#include "fuzz_main.h"
#endif
