#include "api/event_stream.h"

#include <zlib.h>

#include "common/json_writer.h"

namespace sluice::api {
namespace {

void PutU32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}

uint32_t Crc32(std::string_view data) {
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                     reinterpret_cast<const Bytef*>(data.data()),
                                     static_cast<uInt>(data.size())));
}

constexpr uint8_t kStringType = 7;
constexpr size_t kPreludeBytes = 12;
constexpr size_t kCrcBytes = 4;

}  // namespace

std::string EncodeEventMessage(const EventHeaders& headers, std::string_view payload) {
  std::string h;
  for (const auto& [name, value] : headers) {
    h.push_back(static_cast<char>(name.size()));
    h += name;
    h.push_back(static_cast<char>(kStringType));
    h.push_back(static_cast<char>((value.size() >> 8) & 0xff));
    h.push_back(static_cast<char>(value.size() & 0xff));
    h += value;
  }
  const size_t total = kPreludeBytes + h.size() + payload.size() + kCrcBytes;
  std::string out;
  out.reserve(total);
  PutU32(out, static_cast<uint32_t>(total));
  PutU32(out, static_cast<uint32_t>(h.size()));
  PutU32(out, Crc32(out));
  out += h;
  out += payload;
  PutU32(out, Crc32(out));
  return out;
}

std::string EncodeEvent(std::string_view event_type, std::string_view payload,
                        std::string_view content_type) {
  return EncodeEventMessage({{":message-type", "event"},
                             {":event-type", std::string(event_type)},
                             {":content-type", std::string(content_type)}},
                            payload);
}

std::string EncodeException(std::string_view exception_type, std::string_view message) {
  json::Writer w;
  w.BeginObject();
  w.Key("message");
  w.String(message);
  w.EndObject();
  return EncodeEventMessage({{":message-type", "exception"},
                             {":exception-type", std::string(exception_type)},
                             {":content-type", "application/x-amz-json-1.1"}},
                            w.str());
}

std::optional<EventMessage> DecodeEventMessage(std::string_view data, size_t& consumed) {
  if (data.size() < kPreludeBytes + kCrcBytes) return std::nullopt;
  const uint32_t total = GetU32(data, 0);
  const uint32_t headers_len = GetU32(data, 4);
  if (total < kPreludeBytes + kCrcBytes || total > data.size() ||
      headers_len > total - kPreludeBytes - kCrcBytes) {
    return std::nullopt;
  }
  if (GetU32(data, 8) != Crc32(data.substr(0, 8))) return std::nullopt;
  if (GetU32(data, total - kCrcBytes) != Crc32(data.substr(0, total - kCrcBytes))) {
    return std::nullopt;
  }
  EventMessage m;
  std::string_view h = data.substr(kPreludeBytes, headers_len);
  size_t at = 0;
  while (at < h.size()) {
    const size_t name_len = static_cast<uint8_t>(h[at++]);
    if (at + name_len + 3 > h.size()) return std::nullopt;
    std::string name(h.substr(at, name_len));
    at += name_len;
    if (static_cast<uint8_t>(h[at++]) != kStringType) return std::nullopt;
    const size_t value_len =
        (static_cast<size_t>(static_cast<uint8_t>(h[at])) << 8) | static_cast<uint8_t>(h[at + 1]);
    at += 2;
    if (at + value_len > h.size()) return std::nullopt;
    m.headers.emplace_back(std::move(name), std::string(h.substr(at, value_len)));
    at += value_len;
  }
  m.payload = std::string(
      data.substr(kPreludeBytes + headers_len, total - kPreludeBytes - headers_len - kCrcBytes));
  consumed = total;
  return m;
}

}  // namespace sluice::api
