#include "agent/file_input.h"

#include <fcntl.h>
#include <glob.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "agent/spool.h"
#include "common/clock.h"
#include "common/crc32c.h"
#include "common/file_util.h"
#include "common/json_writer.h"

namespace sluice::agent {
namespace {

constexpr uint32_t kFingerprintBytes = 1024;
constexpr size_t kReadChunk = 1 << 20;
constexpr size_t kFlushRecords = 500;
constexpr size_t kFlushBytes = 1 << 20;
constexpr int64_t kCheckpointEveryMs = 1000;

int64_t NowMs() {
  return Clock::System().MonotonicMs();
}

// CRC32C of the first `len` bytes of `fd` (nullopt if it has fewer).
std::optional<uint32_t> CrcPrefix(int fd, uint32_t len) {
  std::string buf(len, '\0');
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(fd, buf.data() + got, len - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    got += static_cast<size_t>(n);
  }
  return crc32c::Value(buf);
}

bool EmptyLine(std::string_view line) {
  return line == "\n" || line == "\r\n";
}

}  // namespace

FileInput::FileInput(InputConfig config, journal::PartitionLog* log, std::string state_dir)
    : config_(std::move(config)),
      log_(log),
      checkpoint_path_(fs::Join(fs::Join(state_dir, "inputs"), config_.name + ".json")) {
  if (!config_.file.multiline_start.empty()) {
    multiline_ = std::make_unique<std::regex>(config_.file.multiline_start);
  }
}

FileInput::~FileInput() {
  for (auto& [key, t] : tracked_) {
    if (t->fd >= 0) close(t->fd);
  }
}

uint64_t FileInput::Key(uint64_t dev, uint64_t ino) {
  return (dev * 0x9E3779B97F4A7C15ull) ^ ino;
}

Status FileInput::Recover() {
  SLUICE_RETURN_IF_ERROR(fs::CreateDirs(fs::DirName(checkpoint_path_)));
  if (fs::Exists(checkpoint_path_)) {
    first_run_ = false;
    SLUICE_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(checkpoint_path_));
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array files;
    uint64_t spool_next = 0;
    if (parser.parse(text).get(doc) || doc["files"].get(files) ||
        doc["spool_next"].get(spool_next)) {
      return Status::Corruption(
          checkpoint_path_ +
          ": not an agent checkpoint (remove it to re-read the files from the start)");
    }
    spool_next_ = journal::Offset{spool_next};
    for (simdjson::dom::element f : files) {
      uint64_t dev = 0, ino = 0, fp_len = 0, fp_crc = 0, offset = 0;
      if (f["dev"].get(dev) || f["ino"].get(ino) || f["fp_len"].get(fp_len) ||
          f["fp_crc"].get(fp_crc) || f["offset"].get(offset)) {
        return Status::Corruption(checkpoint_path_ +
                                  ": a file entry lacks dev/ino/fp_len/fp_crc/offset");
      }
      known_[Key(dev, ino)] =
          Known{static_cast<uint32_t>(fp_len), static_cast<uint32_t>(fp_crc), true, offset};
    }
  }
  // Records spooled after the checkpoint was written: their envelopes say how far each file got.
  const journal::Offset from = std::max(spool_next_, log_->Begin());
  const journal::Offset end = log_->End();
  if (from < end) {
    first_run_ = false;
    SLUICE_ASSIGN_OR_RETURN(auto reader, log_->NewReader());
    SLUICE_RETURN_IF_ERROR(reader->Seek(from));
    std::vector<journal::StoredRecord> batch;
    uint64_t replayed = 0;
    while (true) {
      batch.clear();
      SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Next(1000, 4 << 20, batch));
      if (n == 0) break;
      for (const auto& r : batch) {
        SLUICE_ASSIGN_OR_RETURN(Envelope e, DecodeEnvelope(r.data));
        Known& k = known_[e.source_key];
        k.offset = std::max(k.offset, e.source_end);
        ++replayed;
      }
    }
    spdlog::info(
        "input {}: recovered the position of {} record(s) spooled after the last checkpoint",
        config_.name, replayed);
  }
  return Status::Ok();
}

void FileInput::UpdateFingerprint(Tracked& t) {
  if (t.fp_len >= kFingerprintBytes) return;
  struct stat st {};
  if (fstat(t.fd, &st) != 0) return;
  const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(kFingerprintBytes, st.st_size));
  if (len <= t.fp_len) return;
  if (auto crc = CrcPrefix(t.fd, len)) {
    t.fp_len = len;
    t.fp_crc = *crc;
  }
}

Status FileInput::Open(const std::string& path, bool first_scan) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Ok();  // gone between glob and open
    spdlog::warn("input {}: cannot open {}: {}", config_.name, path, std::strerror(errno));
    return Status::Ok();
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::Ok();
  }
  const uint64_t key = Key(st.st_dev, st.st_ino);
  if (tracked_.count(key)) {  // the same file under a second name
    close(fd);
    return Status::Ok();
  }
  auto t = std::make_unique<Tracked>();
  t->dev = st.st_dev;
  t->ino = st.st_ino;
  t->fd = fd;
  t->path = path;
  t->last_growth_ms = NowMs();
  UpdateFingerprint(*t);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t start = 0;
  std::string why = "new file";
  auto it = known_.find(key);
  if (it != known_.end()) {
    const Known& k = it->second;
    bool same = true;
    if (k.has_fp && k.fp_len > 0) {
      auto crc = CrcPrefix(fd, k.fp_len);
      same = crc && *crc == k.fp_crc;
    }
    if (!same) {
      why = "new file (inode reused)";
    } else if (k.offset > size) {
      why = "truncated while the agent was stopped";
    } else {
      start = k.offset;
      why = "checkpoint";
    }
    known_.erase(it);
  } else if (first_scan && first_run_ && config_.file.start_at_end) {
    start = size;
    why = "start_at: end";
  } else if (config_.file.copy_truncate && t->fp_len > 0) {
    // A copy of a tracked or truncated file continues where that file was.
    for (const auto& [other_key, other] : tracked_) {
      if (other->fp_len == t->fp_len && other->fp_crc == t->fp_crc && other->emitted <= size) {
        start = other->emitted;
        why = "copy of " + other->path;
        break;
      }
    }
    for (const auto& [k, pos] : truncated_) {
      if (start == 0 && k.fp_len == t->fp_len && k.fp_crc == t->fp_crc && pos <= size) {
        start = pos;
        why = "copy of a truncated file";
      }
    }
  }
  t->emitted = t->read_pos = start;
  spdlog::info("input {}: following {} from offset {} ({})", config_.name, path, start, why);
  counters_.files_opened.fetch_add(1);
  tracked_[key] = std::move(t);
  dirty_ = true;
  return Status::Ok();
}

Status FileInput::Scan(bool first_scan) {
  for (auto& [key, t] : tracked_) t->matched = false;
  for (const std::string& pattern : config_.file.paths) {
    glob_t g{};
    const int rc = glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        const std::string path = g.gl_pathv[i];
        struct stat st {};
        if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        auto it = tracked_.find(Key(st.st_dev, st.st_ino));
        if (it != tracked_.end()) {
          it->second->matched = true;
          it->second->path = path;
          continue;
        }
        SLUICE_RETURN_IF_ERROR(Open(path, first_scan));
      }
    }
    globfree(&g);
  }
  return Status::Ok();
}

void FileInput::Cut(Tracked& t, Pending& p, bool flush_all, int64_t now) {
  const uint64_t key = Key(t.dev, t.ino);
  const size_t max = config_.file.max_record_bytes;
  size_t consumed = 0;  // bytes of t.buf turned into records (or skipped)
  if (p.envelopes.empty()) p.start = t.emitted;
  auto emit = [&](size_t from, size_t to) {
    std::string_view rec(t.buf.data() + from, to - from);
    if (!EmptyLine(rec) && !rec.empty()) {
      while (rec.size() > max) {
        // Split: the envelope's position is the end of the piece.
        p.envelopes.push_back(EncodeEnvelope(key, t.emitted + from + max, rec.substr(0, max)));
        p.ends.push_back(t.emitted + from + max);
        p.bytes += max;
        counters_.split_records.fetch_add(1);
        rec.remove_prefix(max);
        from += max;
      }
      p.envelopes.push_back(EncodeEnvelope(key, t.emitted + to, rec));
      p.ends.push_back(t.emitted + to);
      p.bytes += rec.size();
    } else {
      p.ends.push_back(t.emitted + to);  // skipped: still advances the position
      p.envelopes.emplace_back();
    }
    consumed = to;
  };
  const bool idle =
      config_.file.flush_partial_ms > 0 && now - t.last_growth_ms >= config_.file.flush_partial_ms;
  if (!multiline_) {
    size_t pos = 0;
    while (pos < t.buf.size()) {
      size_t nl = t.buf.find('\n', pos);
      if (nl == std::string::npos) {
        if (t.buf.size() - pos > max || flush_all || idle) emit(pos, t.buf.size());
        break;
      }
      emit(pos, nl + 1);
      pos = nl + 1;
    }
  } else {
    size_t record_start = 0;
    size_t pos = 0;
    while (pos < t.buf.size()) {
      size_t nl = t.buf.find('\n', pos);
      if (nl == std::string::npos) break;
      std::string_view line(t.buf.data() + pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (pos > record_start && std::regex_search(line.begin(), line.end(), *multiline_)) {
        emit(record_start, pos);
        record_start = pos;
      }
      pos = nl + 1;
      if (pos - record_start > max) {
        emit(record_start, pos);
        record_start = pos;
      }
    }
    if (record_start < t.buf.size() && (flush_all || idle)) emit(record_start, t.buf.size());
  }
  t.buf.erase(0, consumed);
  t.emitted += consumed;
  // t.emitted now counts the cut records as done; Flush rolls back what the spool refused.
}

Status FileInput::Flush(Tracked& t, Pending& p, const std::atomic<bool>& stop) {
  std::vector<std::string> records;
  records.reserve(p.envelopes.size());
  std::vector<uint64_t> ends;
  for (size_t i = 0; i < p.envelopes.size(); ++i) {
    if (p.envelopes[i].empty()) continue;  // a skipped empty line
    records.push_back(std::move(p.envelopes[i]));
    ends.push_back(p.ends[i]);
  }
  const size_t n = records.size();
  dirty_ = true;
  if (n > 0) {
    SLUICE_ASSIGN_OR_RETURN(size_t accepted,
                            SpoolAppend(*log_, std::move(records), config_.name, stop));
    counters_.records.fetch_add(accepted);
    if (accepted < n) {
      // Stopped while the spool was full: what was not spooled is read from the file again.
      t.buf.clear();
      t.emitted = t.read_pos = accepted == 0 ? p.start : ends[accepted - 1];
      p = Pending{};
      return Status::Cancelled("stopped with the spool full");
    }
    counters_.bytes.fetch_add(p.bytes);
  }
  p = Pending{};
  return Status::Ok();
}

Status FileInput::Poll(Tracked& t, const std::atomic<bool>& stop, bool closing) {
  struct stat st {};
  if (fstat(t.fd, &st) != 0) return Status::FromErrno("fstat " + t.path, errno);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  // Truncated: shorter than what was read, or (truncated and rewritten to the same length before
  // this poll) different first bytes.
  bool rewritten = false;
  if (t.fp_len > 0 && size >= t.read_pos) {
    auto crc = CrcPrefix(t.fd, t.fp_len);
    rewritten = !crc || *crc != t.fp_crc;
  }
  if (size < t.read_pos || rewritten) {
    spdlog::info("input {}: {} was truncated ({} -> {} bytes); reading it from the start",
                 config_.name, t.path, t.read_pos, size);
    counters_.truncations.fetch_add(1);
    if (config_.file.copy_truncate) {
      truncated_.push_back({Known{t.fp_len, t.fp_crc, true, 0}, t.emitted});
      if (truncated_.size() > 16) truncated_.erase(truncated_.begin());
    }
    t.buf.clear();
    t.emitted = t.read_pos = 0;
    t.fp_len = t.fp_crc = 0;
    dirty_ = true;
  }
  UpdateFingerprint(t);
  const int64_t now = NowMs();
  Pending p;
  while (!stop.load() || closing) {
    bool grew = false;
    if (t.read_pos < size) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunk, size - t.read_pos));
      const size_t old = t.buf.size();
      t.buf.resize(old + want);
      ssize_t got = pread(t.fd, t.buf.data() + old, want, static_cast<off_t>(t.read_pos));
      if (got < 0) {
        t.buf.resize(old);
        if (errno == EINTR) continue;
        return Status::FromErrno("read " + t.path, errno);
      }
      t.buf.resize(old + static_cast<size_t>(got));
      t.read_pos += static_cast<uint64_t>(got);
      grew = got > 0;
      if (grew) t.last_growth_ms = now;
    }
    const bool at_end = t.read_pos >= size;
    // emitted/positions: Cut uses t.emitted as the base of t.buf.
    Cut(t, p, closing && at_end, now);
    if (p.envelopes.size() >= kFlushRecords || p.bytes >= kFlushBytes ||
        (at_end && !p.envelopes.empty())) {
      Status s = Flush(t, p, stop);
      if (s.code() == StatusCode::kCancelled) return Status::Ok();
      SLUICE_RETURN_IF_ERROR(s);
    }
    if (at_end || !grew) break;
  }
  return Status::Ok();
}

Status FileInput::SaveCheckpoint() {
  // Everything cut is spooled (Flush runs before this), so the log's end covers every position.
  json::Writer w;
  w.BeginObject();
  w.Key("version");
  w.Int(1);
  // Everything spooled so far is reflected below; recovery replays the spool from here.
  w.Key("spool_next");
  w.Uint(log_->End().value);
  w.Key("files");
  w.BeginArray();
  for (const auto& [key, t] : tracked_) {
    w.BeginObject();
    w.Key("path");
    w.String(t->path);
    w.Key("dev");
    w.Uint(t->dev);
    w.Key("ino");
    w.Uint(t->ino);
    w.Key("fp_len");
    w.Uint(t->fp_len);
    w.Key("fp_crc");
    w.Uint(t->fp_crc);
    w.Key("offset");
    w.Uint(t->emitted);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  SLUICE_RETURN_IF_ERROR(fs::WriteFileAtomically(checkpoint_path_, w.Take()));
  dirty_ = false;
  last_save_ms_ = NowMs();
  return Status::Ok();
}

Status FileInput::Run(const std::atomic<bool>& stop) {
  bool first_scan = true;
  Status result = Status::Ok();
  while (!stop.load()) {
    result = Scan(first_scan);
    if (!result.ok()) break;
    if (first_scan) {
      // Files of the checkpoint that are gone: their unread rest is lost; say so.
      for (const auto& [key, k] : known_) {
        (void)key;
        spdlog::info("input {}: a checkpointed file (offset {}) no longer matches the paths",
                     config_.name, k.offset);
      }
      known_.clear();
      first_scan = false;
      // Fixes the start positions (start_at: end) even if the agent stops before any record.
      result = SaveCheckpoint();
      if (!result.ok()) break;
    }
    // Rotated-away files first: their lines are older than the new file's.
    std::vector<Tracked*> order;
    for (auto& [key, t] : tracked_) {
      if (!t->matched) order.push_back(t.get());
    }
    for (auto& [key, t] : tracked_) {
      if (t->matched) order.push_back(t.get());
    }
    const int64_t now = NowMs();
    for (Tracked* t : order) {
      if (stop.load()) break;
      const bool closing = !t->matched && now - t->last_growth_ms >= config_.file.close_inactive_ms;
      result = Poll(*t, stop, closing);
      if (!result.ok()) break;
      if (closing && t->buf.empty()) {
        spdlog::info("input {}: closing {} (rotated away or deleted, read to its end)",
                     config_.name, t->path);
        close(t->fd);
        tracked_.erase(Key(t->dev, t->ino));
        dirty_ = true;
      }
    }
    if (!result.ok()) break;
    if (dirty_ && NowMs() - last_save_ms_ >= kCheckpointEveryMs) {
      result = SaveCheckpoint();
      if (!result.ok()) break;
    }
    // Sleep in small steps so that a stop is seen quickly.
    const int64_t wake = NowMs() + config_.file.poll_interval_ms;
    while (!stop.load() && NowMs() < wake) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(50, wake - NowMs())));
    }
  }
  Status saved = SaveCheckpoint();
  if (result.ok()) result = saved;
  if (!result.ok()) spdlog::error("input {}: {}", config_.name, result.ToString());
  return result;
}

}  // namespace sluice::agent
