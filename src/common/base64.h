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
// Decoded size of a valid encoding, without decoding.
size_t DecodedSize(std::string_view text);

}  // namespace sluice::base64
