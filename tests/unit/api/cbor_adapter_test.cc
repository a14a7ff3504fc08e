#include "api/cbor_adapter.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "api/cbor_json.h"
#include "api/errors.h"

namespace sluice::api {
namespace {

std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string HeaderOf(const HttpHeaders& headers, std::string_view name) {
  HttpRequest r;
  r.headers = headers;
  return std::string(r.Header(name));
}

// Records the request it got and answers with `answer` (or streams, when `stream` is set).
class FakeKinesis : public HttpHandler {
 public:
  void Handle(HttpRequest request, Responder respond) override {
    calls++;
    seen = std::move(request);
    if (stream) {
      std::shared_ptr<ResponseStream> s = respond.Stream(200, {{"Content-Type", "event-stream"}});
      ASSERT_NE(s, nullptr);
      s->Write("frame");
      s->End();
      return;
    }
    respond(answer);
  }
  int calls = 0;
  bool stream = false;
  HttpRequest seen;
  HttpResponse answer;
};

class RecordingStream : public ResponseStream {
 public:
  void Write(std::string part, std::function<void(bool)> written) override {
    parts += part;
    if (written) written(true);
  }
  void End() override { ended = true; }
  std::string parts;
  bool ended = false;
};

class CborAdapterTest : public ::testing::Test {
 protected:
  HttpResponse Send(std::string content_type, std::string body) {
    HttpRequest req;
    req.method = "POST";
    req.headers = {{"X-Amz-Target", "Kinesis_20131202.GetShardIterator"},
                   {"Content-Type", std::move(content_type)}};
    req.body = std::move(body);
    std::optional<HttpResponse> out;
    adapter_.Handle(std::move(req), [&out](HttpResponse r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value());
    return out.value_or(HttpResponse{});
  }
  // The CBOR body as JSON (decoded by the request direction, checked independently elsewhere).
  static std::string Decoded(const std::string& cbor) {
    Result<std::string> r = CborRequestToJson(cbor);
    return r.ok() ? *r : "ERROR: " + r.status().message();
  }

  FakeKinesis inner_;
  CborAdapter adapter_{&inner_};
};

// bf "StreamName" "s" "Timestamp" 1(1441215410867) "Data" h'0102' ff
const char kCborRequestHex[] =
    "bf6a53747265616d4e616d6561736954696d657374616d70c11b0000014f8f21f2b36444617461420102ff";

TEST_F(CborAdapterTest, CborRequestReachesTheHandlerAsJson) {
  inner_.answer = JsonResponse(200, "{}", "req-1");
  Send("application/x-amz-cbor-1.1", Hex(kCborRequestHex));
  ASSERT_EQ(inner_.calls, 1);
  EXPECT_EQ(inner_.seen.body, R"({"StreamName":"s","Timestamp":1441215410.867,"Data":"AQI="})");
  EXPECT_EQ(inner_.seen.Header("Content-Type"), kAmzJsonContentType);
  EXPECT_EQ(inner_.seen.Header("X-Amz-Target"), "Kinesis_20131202.GetShardIterator");
}

TEST_F(CborAdapterTest, JsonAnswerLeavesAsCbor) {
  inner_.answer =
      JsonResponse(200,
                   R"({"Records":[{"Data":"AQI=","ApproximateArrivalTimestamp":1441215410.867,)"
                   R"("PartitionKey":"k","SequenceNumber":"1"}],"MillisBehindLatest":0})",
                   "req-2");
  inner_.answer.headers.emplace_back("Content-Length", "999");
  HttpResponse r = Send("application/x-amz-cbor-1.1", Hex(kCborRequestHex));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(HeaderOf(r.headers, "Content-Type"), kAmzCborContentType);
  EXPECT_EQ(HeaderOf(r.headers, "x-amzn-RequestId"), "req-2");
  EXPECT_EQ(HeaderOf(r.headers, "Content-Length"), std::to_string(r.body.size()));
  // The blob is a byte string (42 0102) and the timestamp tag 1 + ms (c1 1b ...).
  EXPECT_NE(r.body.find(Hex("6444617461420102")), std::string::npos);
  EXPECT_NE(r.body.find(Hex("c11b0000014f8f21f2b3")), std::string::npos);
  EXPECT_EQ(Decoded(r.body),
            R"({"Records":[{"Data":"AQI=","ApproximateArrivalTimestamp":1441215410.867,)"
            R"("PartitionKey":"k","SequenceNumber":"1"}],"MillisBehindLatest":0})");
}

TEST_F(CborAdapterTest, ErrorAnswerLeavesAsCborWithItsStatus) {
  inner_.answer = ErrorResponse(ApiError::NotFound("Stream s under account 1 not found."), "r3");
  HttpResponse r = Send("application/x-amz-cbor-1.1", Hex(kCborRequestHex));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(HeaderOf(r.headers, "Content-Type"), kAmzCborContentType);
  EXPECT_EQ(HeaderOf(r.headers, "x-amzn-RequestId"), "r3");
  // a2 66 "__type" 78 19 "ResourceNotFoundException" 67 "message" ...
  std::string prefix =
      Hex("a2665f5f747970657819") + "ResourceNotFoundException" + Hex("67") + "message";
  EXPECT_EQ(r.body.substr(0, prefix.size()), prefix);
  EXPECT_EQ(
      Decoded(r.body),
      R"({"__type":"ResourceNotFoundException","message":"Stream s under account 1 not found."})");
}

TEST_F(CborAdapterTest, MalformedCborAnswersSerializationExceptionWithoutTheHandler) {
  for (std::string body : {Hex("bf6a53747265616d"), Hex("a0ff"), Hex("a10102"), Hex("1c")}) {
    HttpResponse r = Send("application/x-amz-cbor-1.1", body);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(HeaderOf(r.headers, "Content-Type"), kAmzCborContentType);
    EXPECT_FALSE(HeaderOf(r.headers, "x-amzn-RequestId").empty());
    std::string json = Decoded(r.body);
    EXPECT_EQ(json.rfind(R"({"__type":"SerializationException","message":")", 0), 0u) << json;
  }
  EXPECT_EQ(inner_.calls, 0);
}

TEST_F(CborAdapterTest, JsonRequestPassesThroughUntouched) {
  inner_.answer = JsonResponse(200, R"({"Data":"AQI=","Timestamp":1.5})", "r4");
  std::string body = R"({"StreamName":"s"})";
  HttpResponse r = Send("application/x-amz-json-1.1", body);
  EXPECT_EQ(inner_.seen.body, body);
  EXPECT_EQ(inner_.seen.Header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(r.body, R"({"Data":"AQI=","Timestamp":1.5})");
  EXPECT_EQ(HeaderOf(r.headers, "Content-Type"), kAmzJsonContentType);
  // No Content-Type at all is not CBOR either.
  HttpResponse r2 = Send("", "{}");
  EXPECT_EQ(inner_.seen.body, "{}");
  EXPECT_EQ(r2.body, R"({"Data":"AQI=","Timestamp":1.5})");
}

TEST_F(CborAdapterTest, ContentTypeIsMatchedCaseInsensitivelyWithoutParameters) {
  EXPECT_TRUE(IsCborContentType("application/x-amz-cbor-1.1"));
  EXPECT_TRUE(IsCborContentType("Application/X-Amz-CBOR-1.1"));
  EXPECT_TRUE(IsCborContentType(" application/x-amz-cbor-1.1 ; charset=binary"));
  EXPECT_FALSE(IsCborContentType("application/x-amz-cbor-1.0"));
  EXPECT_FALSE(IsCborContentType("application/cbor"));
  EXPECT_FALSE(IsCborContentType("application/x-amz-json-1.1"));
  EXPECT_FALSE(IsCborContentType(""));
}

TEST_F(CborAdapterTest, AnswerThatDoesNotTranscodeBecomesInternalFailure) {
  inner_.answer = JsonResponse(200, "not json", "r5");
  HttpResponse r = Send("application/x-amz-cbor-1.1", Hex("a0"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(HeaderOf(r.headers, "x-amzn-RequestId"), "r5");
  EXPECT_EQ(Decoded(r.body),
            R"({"__type":"InternalFailure","message":"Internal Service Failure"})");
}

TEST_F(CborAdapterTest, EmptyAnswerStaysEmpty) {
  inner_.answer = JsonResponse(200, "", "r6");
  HttpResponse r = Send("application/x-amz-cbor-1.1", "");
  EXPECT_EQ(inner_.seen.body, "{}");
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(HeaderOf(r.headers, "Content-Type"), kAmzCborContentType);
}

TEST_F(CborAdapterTest, StreamedAnswerPassesThroughUnchanged) {
  inner_.stream = true;
  auto stream = std::make_shared<RecordingStream>();
  std::optional<int> status;
  HttpHeaders headers;
  Responder respond([](HttpResponse) { ADD_FAILURE() << "one-shot answer for a stream"; },
                    [&](int s, HttpHeaders h) -> std::shared_ptr<ResponseStream> {
                      status = s;
                      headers = std::move(h);
                      return stream;
                    });
  HttpRequest req;
  req.headers = {{"Content-Type", "application/x-amz-cbor-1.1"}};
  req.body = Hex("a0");
  adapter_.Handle(std::move(req), respond);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(HeaderOf(headers, "Content-Type"), "event-stream");
  EXPECT_EQ(stream->parts, "frame");
  EXPECT_TRUE(stream->ended);
}

TEST_F(CborAdapterTest, CborRequestWithoutStreamingTransportCannotStream) {
  HttpRequest req;
  req.headers = {{"Content-Type", "application/x-amz-cbor-1.1"}};
  req.body = Hex("a0");
  bool can_stream = true;
  class Probe : public HttpHandler {
   public:
    explicit Probe(bool* out) : out_(out) {}
    void Handle(HttpRequest, Responder respond) override {
      *out_ = respond.can_stream();
      respond(JsonResponse(200, "{}", "r7"));
    }
    bool* out_;
  } probe(&can_stream);
  CborAdapter adapter(&probe);
  adapter.Handle(std::move(req), [](HttpResponse) {});
  EXPECT_FALSE(can_stream);
}

}  // namespace
}  // namespace sluice::api
