// CBOR (RFC 8949) <-> the JSON that the AWS JSON 1.1 handlers speak, for Kinesis clients that
// send `application/x-amz-cbor-1.1` (the Java SDKs v1 >= 1.11.71 and v2, and the KCL, by
// default). The Kinesis handler never sees CBOR; api/cbor_adapter.h transcodes around it.
//
// AWS's CBOR differs from its JSON in two shapes (aws-wire-spec.md §2.2):
//   blob       CBOR byte string (major type 2)        JSON base64 string
//   timestamp  CBOR tag 1 + integer MILLISECONDS      JSON number of epoch seconds (1441215410.867)
// (RFC 8949 puts seconds under tag 1; AWS puts milliseconds, in both directions.)
//
// Requests (CBOR -> JSON) need no model: any byte string becomes a base64 string, any tag 1
// becomes seconds. Responses (JSON -> CBOR) need to know which members are blobs and
// timestamps; that is the small table below, taken from the Kinesis model (botocore
// kinesis/2013-12-02/service-2.json: the only blob shape is `Data`, the only timestamp shape is
// `Timestamp`, used by the members listed).
//
// Thread safety: the functions are reentrant (JsonResponseToCbor parses with a thread-local
// simdjson parser of its own).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::api {

// Containers (maps and arrays) nest at most this deep in a CBOR request.
inline constexpr int kCborMaxDepth = 32;

// Kinesis members whose JSON value is a base64 string and whose CBOR value is a byte string.
inline constexpr std::string_view kKinesisBlobMembers[] = {"Data"};
// Kinesis members whose JSON value is epoch seconds and whose CBOR value is tag 1 + integer ms.
inline constexpr std::string_view kKinesisTimestampMembers[] = {
    "ApproximateArrivalTimestamp",  // Record
    "StreamCreationTimestamp",      // StreamDescription(Summary), StreamSummary, ListShards input
    "ConsumerCreationTimestamp",    // Consumer, ConsumerDescription
    "Timestamp",                    // GetShardIterator, StartingPosition, ShardFilter
};

// Transcodes one CBOR data item (a request body) to JSON text:
//   map -> object (keys must be text strings), array -> array, text string -> string (must be
//   valid UTF-8), unsigned/negative integer -> integer (the full 64-bit range of both),
//   half/single/double float -> number (NaN and infinities are refused: JSON has none),
//   true/false/null -> themselves, undefined -> null, byte string -> base64 string,
//   tag 1 + integer -> epoch seconds with the millisecond fraction (1441215410867 ->
//   1441215410.867), tag 1 + float -> that many milliseconds as seconds, other tags -> their
//   content (libcbor 0.8 refuses the unassigned one-byte tags 6..20 as malformed).
//   Indefinite-length maps, arrays and strings (the Java SDK writes `bf ... ff`) are read like
//   definite ones. An empty body reads as `{}` (an operation without input).
// Errors (InvalidArgument, message says what and at which byte): malformed or truncated items,
// declared lengths beyond the input, a break outside an indefinite item, a wrong chunk type in
// an indefinite string, a non-text map key, tag 1 on anything but a number, simple values other
// than false/true/null/undefined, nesting deeper than kCborMaxDepth, and any bytes after the
// first data item. Allocation is bounded by the input size, whatever lengths it declares, and
// the decoder does not recurse.
Result<std::string> CborRequestToJson(std::string_view cbor);

// Transcodes a JSON response body to CBOR: objects -> definite-length maps, arrays -> arrays,
// strings -> text strings, except that a string under a kKinesisBlobMembers name is
// base64-decoded into a byte string, and a number under a kKinesisTimestampMembers name (epoch
// seconds) becomes tag 1 + integer milliseconds (rounded to the nearest ms); other integers
// stay integers, other numbers become doubles. A list under such a member name holds values of
// that kind. An empty body stays empty.
// Errors (InvalidArgument): invalid JSON, a blob member that is not strict base64, a
// timestamp out of the 64-bit millisecond range. These are the handler's bugs, not the
// client's.
Result<std::string> JsonResponseToCbor(std::string_view json);

}  // namespace sluice::api
