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
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.resize(DecodedSize(text));
  char* o = out.data();
  const size_t n = text.size();
  for (size_t i = 0; i < n; i += 4) {
    int8_t a = kReverse[static_cast<uint8_t>(text[i])];
    int8_t b = kReverse[static_cast<uint8_t>(text[i + 1])];
    if (a < 0 || b < 0) return std::nullopt;
    bool last = i + 4 == n;
    char c3 = text[i + 2], c4 = text[i + 3];
    if (last && c3 == '=') {
      if (c4 != '=' || (b & 15) != 0) return std::nullopt;
      *o++ = static_cast<char>((a << 2) | (b >> 4));
      break;
    }
    int8_t c = kReverse[static_cast<uint8_t>(c3)];
    if (c < 0) return std::nullopt;
    if (last && c4 == '=') {
      if ((c & 3) != 0) return std::nullopt;
      *o++ = static_cast<char>((a << 2) | (b >> 4));
      *o++ = static_cast<char>(((b & 15) << 4) | (c >> 2));
      break;
    }
    int8_t d = kReverse[static_cast<uint8_t>(c4)];
    if (d < 0) return std::nullopt;
    *o++ = static_cast<char>((a << 2) | (b >> 4));
    *o++ = static_cast<char>(((b & 15) << 4) | (c >> 2));
    *o++ = static_cast<char>(((c & 3) << 6) | d);
  }
  return out;
}

}  // namespace sluice::base64
