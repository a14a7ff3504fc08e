#include "config/time_zone.h"

#include <algorithm>

#include "common/file_util.h"

namespace sluice::config {
namespace {

int64_t ReadBe(const std::string& d, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v = (v << 8) | static_cast<uint8_t>(d[pos + static_cast<size_t>(i)]);
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

struct Header {
  int64_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

bool ReadHeader(const std::string& d, size_t pos, Header& h) {
  if (d.size() < pos + 44 || d.compare(pos, 4, "TZif") != 0) return false;
  h.isutcnt = ReadBe(d, pos + 20, 4);
  h.isstdcnt = ReadBe(d, pos + 24, 4);
  h.leapcnt = ReadBe(d, pos + 28, 4);
  h.timecnt = ReadBe(d, pos + 32, 4);
  h.typecnt = ReadBe(d, pos + 36, 4);
  h.charcnt = ReadBe(d, pos + 40, 4);
  return h.timecnt >= 0 && h.typecnt > 0 && h.charcnt >= 0 && h.leapcnt >= 0;
}

size_t BodySize(const Header& h, int time_bytes) {
  return static_cast<size_t>(h.timecnt * time_bytes + h.timecnt + h.typecnt * 6 + h.charcnt +
                             h.leapcnt * (time_bytes + 4) + h.isstdcnt + h.isutcnt);
}

}  // namespace

Result<TimeZone> TimeZone::Load(const std::string& name, const std::string& zoneinfo_dir) {
  TimeZone tz;
  if (name.empty() || name == "UTC" || name == "Etc/UTC") return tz;
  bool ok = name.size() <= 64 && name.front() != '/' && name.find("..") == std::string::npos;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '/' || c == '_' || c == '-' || c == '+');
  }
  if (!ok)
    return Status::InvalidArgument("time zone '" + name +
                                   "' is not an IANA zone name like Europe/Paris");
  auto data = fs::ReadFile(zoneinfo_dir + "/" + name);
  if (!data.ok()) {
    return Status::InvalidArgument("time zone '" + name + "' is unknown (no " + zoneinfo_dir + "/" +
                                   name + "; is the tzdata package installed?)");
  }
  const std::string& d = *data;
  Header h1;
  if (!ReadHeader(d, 0, h1))
    return Status::InvalidArgument("time zone file of '" + name + "' is not TZif");
  // Version 2+ files repeat the data with 64-bit times after the version 1 block: use that.
  Header h = h1;
  size_t pos = 44;
  int time_bytes = 4;
  if (d[4] >= '2') {
    size_t v2 = 44 + BodySize(h1, 4);
    if (!ReadHeader(d, v2, h))
      return Status::InvalidArgument("time zone file of '" + name + "' is damaged");
    pos = v2 + 44;
    time_bytes = 8;
  }
  if (d.size() < pos + BodySize(h, time_bytes)) {
    return Status::InvalidArgument("time zone file of '" + name + "' is truncated");
  }
  const size_t idx_pos = pos + static_cast<size_t>(h.timecnt * time_bytes);
  const size_t types_pos = idx_pos + static_cast<size_t>(h.timecnt);
  std::vector<int32_t> type_offsets;
  for (int64_t t = 0; t < h.typecnt; ++t) {
    type_offsets.push_back(
        static_cast<int32_t>(ReadBe(d, types_pos + static_cast<size_t>(t) * 6, 4)));
  }
  tz.name_ = name;
  tz.initial_offset_ = type_offsets[0];
  for (int64_t i = 0; i < h.timecnt; ++i) {
    tz.transitions_.push_back(ReadBe(d, pos + static_cast<size_t>(i * time_bytes), time_bytes));
    auto type = static_cast<uint8_t>(d[idx_pos + static_cast<size_t>(i)]);
    if (type >= type_offsets.size())
      return Status::InvalidArgument("time zone file of '" + name + "' is damaged");
    tz.offsets_.push_back(type_offsets[type]);
  }
  return tz;
}

int32_t TimeZone::OffsetAt(int64_t epoch_s) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), epoch_s);
  if (it == transitions_.begin()) return initial_offset_;
  return offsets_[static_cast<size_t>(it - transitions_.begin() - 1)];
}

}  // namespace sluice::config
