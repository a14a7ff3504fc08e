#include "common/base64.h"

#include <array>
#include <cstdint>

namespace sluice::base64 {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeReverse() {
  std::array<int8_t, 256> r{};
  for (auto& v : r) v = -1;
  for (int i = 0; i < 64; ++i) r[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return r;
}
constexpr auto kReverse = MakeReverse();

}  // namespace

void EncodeTo(std::string_view data, std::string& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t n = data.size();
  size_t start = out.size();
  out.resize(start + (n + 2) / 3 * 4);
  char* o = out.data() + start;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    *o++ = kAlphabet[(v >> 18) & 63];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = kAlphabet[(v >> 6) & 63];
    *o++ = kAlphabet[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{p[i]} << 16;
    *o++ = kAlphabet[(v >> 18) & 63];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = '=';
    *o++ = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    *o++ = kAlphabet[(v >> 18) & 63];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = kAlphabet[(v >> 6) & 63];
    *o++ = '=';
  }
}

std::string Encode(std::string_view data) {
  std::string out;
  EncodeTo(data, out);
  return out;
}

size_t DecodedSize(std::string_view text) {
  if (text.empty()) return 0;
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  return text.size() / 4 * 3 - pad;
}

std::optional<std::string> Decode(std::string_view text) {
  std::string out(MaxDecodedSize(text.size()), '\0');
  auto n = DecodeTo(text, out.data());
  if (!n) return std::nullopt;
  out.resize(*n);
  return out;
}

std::optional<size_t> DecodeTo(std::string_view text, char* out) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return size_t{0};
  auto* o = reinterpret_cast<uint8_t*>(out);
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  const size_t quads = text.size() / 4;
  // Every quad but the last has no padding: decode them with one validity check per quad
  // (an invalid character maps to -1, whose sign bit survives the OR).
  for (size_t q = 0; q + 1 < quads; ++q, in += 4) {
    const int32_t a = kReverse[in[0]], b = kReverse[in[1]], c = kReverse[in[2]],
                  d = kReverse[in[3]];
    if ((a | b | c | d) < 0) return std::nullopt;
    const uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                       (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
    o[0] = static_cast<uint8_t>(v >> 16);
    o[1] = static_cast<uint8_t>(v >> 8);
    o[2] = static_cast<uint8_t>(v);
    o += 3;
  }
  const size_t full = (quads - 1) * 3;
  // The last quad may end with "=" or "==".
  const int32_t a = kReverse[in[0]], b = kReverse[in[1]];
  if ((a | b) < 0) return std::nullopt;
  if (in[2] == '=') {
    if (in[3] != '=' || (b & 15) != 0) return std::nullopt;
    o[0] = static_cast<uint8_t>((a << 2) | (b >> 4));
    return full + 1;
  }
  const int32_t c = kReverse[in[2]];
  if (c < 0) return std::nullopt;
  if (in[3] == '=') {
    if ((c & 3) != 0) return std::nullopt;
    o[0] = static_cast<uint8_t>((a << 2) | (b >> 4));
    o[1] = static_cast<uint8_t>(((b & 15) << 4) | (c >> 2));
    return full + 2;
  }
  const int32_t d = kReverse[in[3]];
  if (d < 0) return std::nullopt;
  o[0] = static_cast<uint8_t>((a << 2) | (b >> 4));
  o[1] = static_cast<uint8_t>(((b & 15) << 4) | (c >> 2));
  o[2] = static_cast<uint8_t>(((c & 3) << 6) | d);
  return full + 3;
}

}  // namespace sluice::base64
