// The AWS event-stream message encoding (application/vnd.amazon.eventstream), as Kinesis
// SubscribeToShard sends its events:
//
//   message  := total_length:u32 headers_length:u32 prelude_crc:u32 headers payload message_crc:u32
//   header   := name_length:u8 name type:u8 value      ; Sluice writes type 7 (string):
//               value := length:u16 bytes
//   prelude_crc = CRC32(first 8 bytes), message_crc = CRC32(everything before it); big-endian;
//   CRC32 is the IEEE (zlib) polynomial.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::api {

using EventHeaders = std::vector<std::pair<std::string, std::string>>;

// One message with string headers.
std::string EncodeEventMessage(const EventHeaders& headers, std::string_view payload);

// An event: `:message-type: event`, `:event-type: <type>`, `:content-type: <content_type>`.
std::string EncodeEvent(std::string_view event_type, std::string_view payload,
                        std::string_view content_type = "application/x-amz-json-1.1");
// An exception: `:message-type: exception`, `:exception-type: <type>`, JSON {"message": ...}.
std::string EncodeException(std::string_view exception_type, std::string_view message);

// Decodes one message from the front of `data` (tests and clients). nullopt when `data` does not
// start with a whole, valid message; `consumed` is set to its length otherwise.
struct EventMessage {
  EventHeaders headers;
  std::string payload;
};
std::optional<EventMessage> DecodeEventMessage(std::string_view data, size_t& consumed);

}  // namespace sluice::api
