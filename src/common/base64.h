// Standard base64 (RFC 4648, with padding), as AWS JSON protocols encode blobs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::base64 {

std::string Encode(std::string_view data);
// Appends the encoding of `data` to `out`.
void EncodeTo(std::string_view data, std::string& out);
// Decodes strict base64 (padding required, no whitespace). nullopt on any invalid input.
std::optional<std::string> Decode(std::string_view text);
// An upper bound of the decoded size of any `text_size` characters (valid or not).
inline size_t MaxDecodedSize(size_t text_size) {
  return text_size / 4 * 3;
}
// Decodes strict base64 into `out`, which has room for MaxDecodedSize(text.size()) bytes; returns
// the bytes written, nullopt on any invalid input (`out` then holds garbage).
std::optional<size_t> DecodeTo(std::string_view text, char* out);
// Decoded size of a valid encoding, without decoding.
size_t DecodedSize(std::string_view text);

}  // namespace sluice::base64
