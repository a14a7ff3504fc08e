#include "cli/cmd_transform.h"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <istream>
#include <memory>
#include <mutex>
#include <ostream>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/json_writer.h"
#include "transform/pipeline.h"

namespace sluice::cli {

namespace {

// One batch of input lines: its bytes, the records (views into them) and, once processed, the
// chain's result.
struct Batch {
  size_t index = 0;
  size_t first_line = 0;  // records before this batch (a record is one non-empty line)
  std::string buffer;
  std::vector<transform::SourceRecord> records;
  std::vector<std::string> ids;
  transform::BatchResult result;
  size_t columns = 0;  // output columns known when this batch was formatted
  bool merged = false;
  bool done = false;
};

// Reads newline-delimited records in batches of about `batch_bytes` (a longer line makes a
// longer batch). Same lines as std::getline: a trailing '\r' is dropped and empty lines skipped;
// in raw mode each record keeps a '\n'.
class BatchReader {
 public:
  BatchReader(std::istream& in, size_t batch_bytes, bool raw, int64_t now)
      : in_(in), batch_bytes_(batch_bytes), raw_(raw), now_(now) {}

  std::unique_ptr<Batch> Next() {
    if (eof_ && carry_.empty()) return nullptr;
    auto batch = std::make_unique<Batch>();
    std::string& buf = batch->buffer;
    buf.swap(carry_);
    carry_.clear();
    size_t end = std::string::npos;  // one past the last complete line
    size_t scanned = 0;
    while (true) {
      size_t nl = buf.rfind('\n');
      if (nl != std::string::npos && nl >= scanned) end = nl + 1;
      if (end != std::string::npos && buf.size() >= batch_bytes_) break;
      if (eof_) break;
      scanned = buf.size();
      const size_t want =
          std::max<size_t>(batch_bytes_ > buf.size() ? batch_bytes_ - buf.size() : 0, 64 * 1024);
      buf.resize(scanned + want);
      in_.read(buf.data() + scanned, static_cast<std::streamsize>(want));
      buf.resize(scanned + static_cast<size_t>(in_.gcount()));
      if (!in_) eof_ = true;
    }
    if (eof_) {
      // The whole rest is this batch; a last line without '\n' gets one (raw mode keeps it).
      if (!buf.empty() && buf.back() != '\n') buf += '\n';
    } else {
      carry_.assign(buf, end, std::string::npos);
      buf.resize(end);
    }
    batch->first_line = lines_;
    size_t start = 0;
    while (start < buf.size()) {
      size_t nl = buf.find('\n', start);
      size_t len = nl - start;
      if (len > 0 && buf[nl - 1] == '\r') {
        --len;
        buf[nl - 1] = '\n';  // "abc\r\n" → "abc\n": the raw record stays contiguous
      }
      if (len > 0) {
        ++lines_;
        batch->ids.push_back("line-" + std::to_string(lines_));
        batch->records.push_back(transform::SourceRecord{
            std::string_view(buf.data() + start, raw_ ? len + 1 : len), now_, {}});
      }
      start = nl + 1;
    }
    for (size_t i = 0; i < batch->records.size(); ++i) batch->records[i].record_id = batch->ids[i];
    return batch;
  }

 private:
  std::istream& in_;
  size_t batch_bytes_;
  bool raw_;
  int64_t now_;
  bool eof_ = false;
  std::string carry_;
  size_t lines_ = 0;
};

// The output column order across batches: first seen first, as in one batch. Batch k merges its
// columns after batch k-1 did, so the order does not depend on which thread finished first.
class ColumnOrder {
 public:
  void Merge(Batch& batch, std::vector<std::string>* names) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return merged_ == batch.index; });
    if (names != nullptr) {
      for (const std::string& name : *names) {
        if (index_.emplace(name, columns_.size()).second) columns_.push_back(name);
      }
      *names = columns_;
    }
    batch.columns = columns_.size();
    batch.merged = true;
    ++merged_;
    cv_.notify_all();
  }
  const std::vector<std::string>& columns() const { return columns_; }  // once all merged

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t merged_ = 0;
  std::vector<std::string> columns_;
  std::unordered_map<std::string, size_t> index_;
};

// Formatted rows wait in a temporary file until the end: the header (and every earlier row)
// depends on columns that later batches may bring. Per chunk (one group of one batch) the row
// ends are kept too, so rows formatted before a column appeared get its null appended.
class Spool {
 public:
  struct Chunk {
    uint64_t offset = 0, size = 0;
    uint64_t ends_offset = 0;  // in ends_, uint32 per row (relative to the chunk)
    uint32_t rows = 0;
    size_t columns = 0;
  };
  struct Group {
    transform::PartitionKeys keys;
    std::vector<Chunk> chunks;
  };

  bool Open() {
    data_ = std::tmpfile();
    ends_ = std::tmpfile();
    return data_ != nullptr && ends_ != nullptr;
  }
  ~Spool() {
    if (data_ != nullptr) std::fclose(data_);
    if (ends_ != nullptr) std::fclose(ends_);
  }

  bool Add(const Batch& batch) {
    for (const transform::OutputGroup& g : batch.result.groups) {
      Group* group = nullptr;
      for (Group& existing : groups_) {
        if (existing.keys == g.partition_keys) group = &existing;
      }
      if (group == nullptr) group = &groups_.emplace_back(Group{g.partition_keys, {}});
      Chunk c{data_size_, g.data.size(), ends_size_, static_cast<uint32_t>(g.row_ends.size()),
              batch.columns};
      if (std::fwrite(g.data.data(), 1, g.data.size(), data_) != g.data.size()) return false;
      const size_t ends_bytes = g.row_ends.size() * sizeof(uint32_t);
      if (std::fwrite(g.row_ends.data(), 1, ends_bytes, ends_) != ends_bytes) return false;
      data_size_ += g.data.size();
      ends_size_ += ends_bytes;
      group->chunks.push_back(c);
    }
    return true;
  }

  // Writes every group in order of its first row: its partition-key line, the csv header with
  // the final columns, then its rows.
  bool WriteTo(std::ostream& out, const transform::FormatSpec& spec,
               const std::vector<std::string>& columns) {
    if (std::fflush(data_) != 0 || std::fflush(ends_) != 0) return false;
    std::string header;
    if (spec.kind == transform::FormatSpec::Kind::kCsv && spec.header) {
      for (size_t i = 0; i < columns.size(); ++i) {
        if (i > 0) header += spec.delimiter;
        transform::AppendCsvField(header, columns[i], spec.delimiter, {});
      }
      header += spec.line_ending;
    }
    std::string buf, padded;
    std::vector<uint32_t> ends;
    for (const Group& g : groups_) {
      if (!g.keys.empty()) {
        json::Writer w;
        w.BeginObject();
        for (const auto& [k, v] : g.keys) {
          w.Key(k);
          w.String(v);
        }
        w.EndObject();
        out << "# partitionKeys: " << w.str() << "\n";
      }
      out << header;
      for (const Chunk& c : g.chunks) {
        if (!Read(data_, c.offset, c.size, buf)) return false;
        if (c.columns == columns.size() || spec.kind == transform::FormatSpec::Kind::kRaw) {
          out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
          continue;
        }
        std::string ends_bytes;
        if (!Read(ends_, c.ends_offset, uint64_t{c.rows} * sizeof(uint32_t), ends_bytes)) {
          return false;
        }
        ends.resize(c.rows);
        std::memcpy(ends.data(), ends_bytes.data(), ends_bytes.size());
        // What a row formatted with c.columns lacks, inserted before its line ending (csv) or
        // its closing "}\n" (jsonl): the later columns, null.
        std::string pad;
        size_t tail = 0;
        if (spec.kind == transform::FormatSpec::Kind::kCsv) {
          tail = spec.line_ending.size();
          for (size_t i = c.columns; i < columns.size(); ++i) {
            if (i > 0) pad += spec.delimiter;
            pad += spec.null_text;
          }
        } else {
          tail = 2;
          for (size_t i = c.columns; i < columns.size(); ++i) {
            if (i > 0) pad += ',';
            json::AppendString(pad, columns[i]);
            pad += ":null";
          }
        }
        padded.clear();
        size_t start = 0;
        for (uint32_t end : ends) {
          padded.append(buf, start, end - tail - start);
          padded += pad;
          padded.append(buf, end - tail, tail);
          start = end;
        }
        out.write(padded.data(), static_cast<std::streamsize>(padded.size()));
      }
    }
    return static_cast<bool>(out);
  }

 private:
  static bool Read(std::FILE* f, uint64_t offset, uint64_t size, std::string& out) {
    out.resize(size);
    if (size == 0) return true;
    if (fseeko(f, static_cast<off_t>(offset), SEEK_SET) != 0) return false;
    return std::fread(out.data(), 1, size, f) == size;
  }

  std::FILE* data_ = nullptr;
  std::FILE* ends_ = nullptr;
  uint64_t data_size_ = 0, ends_size_ = 0;
  std::deque<Group> groups_;
};

}  // namespace

int RunTransformCommand(const std::vector<config::ProcessorSpec>& processors,
                        const transform::FormatSpec& format, const std::string& stream_name,
                        std::istream& in, std::ostream& out, std::ostream& err,
                        const TransformCommandOptions& options) {
  transform::ChainOptions chain_options;
  chain_options.stream_name = stream_name;
  const int threads = std::max(1, options.threads);
  std::vector<std::unique_ptr<transform::Chain>> chains;
  for (int i = 0; i < threads; ++i) {
    auto chain = transform::Chain::Build(processors, format, chain_options);
    if (!chain.ok()) {
      err << "sluice transform: stream " << stream_name << ": " << chain.status().message() << "\n";
      return 2;
    }
    chains.push_back(std::move(chain).value());
  }
  Spool spool;
  if (!spool.Open()) {
    err << "sluice transform: cannot create a temporary file: " << std::strerror(errno) << "\n";
    return 2;
  }
  const bool raw = format.kind == transform::FormatSpec::Kind::kRaw;
  BatchReader reader(in, std::max<size_t>(options.batch_bytes, 1), raw, Clock::System().NowMs());
  ColumnOrder order;

  // Workers take batches in input order; the main thread reads ahead and, in input order,
  // collects what they finished. At most 2 × threads batches are in memory.
  std::mutex mu;
  std::condition_variable work_cv, done_cv;
  std::deque<Batch*> queue;
  bool closing = false;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      transform::Chain& chain = *chains[static_cast<size_t>(t)];
      while (true) {
        Batch* batch = nullptr;
        {
          std::unique_lock lock(mu);
          work_cv.wait(lock, [&] { return closing || !queue.empty(); });
          if (queue.empty()) return;
          batch = queue.front();
          queue.pop_front();
        }
        transform::ProcessOptions po;
        po.header = false;
        po.row_ends = true;
        po.order_columns = [&](std::vector<std::string>& names) { order.Merge(*batch, &names); };
        batch->result = chain.Process(batch->records, po);
        if (!batch->merged) order.Merge(*batch, nullptr);  // raw: no columns
        std::lock_guard lock(mu);
        batch->done = true;
        done_cv.notify_all();
      }
    });
  }

  std::deque<std::unique_ptr<Batch>> inflight;
  size_t next_index = 0;
  bool input_done = false;
  bool spool_ok = true;
  size_t total = 0, ok = 0, dropped = 0, failed = 0;
  const size_t max_inflight = 2 * static_cast<size_t>(threads);
  while (true) {
    while (!input_done && inflight.size() < max_inflight) {
      std::unique_ptr<Batch> batch = reader.Next();
      if (batch == nullptr) {
        input_done = true;
        break;
      }
      if (batch->records.empty()) continue;
      batch->index = next_index++;
      std::lock_guard lock(mu);
      queue.push_back(batch.get());
      inflight.push_back(std::move(batch));
      work_cv.notify_one();
    }
    if (inflight.empty()) break;
    {
      std::unique_lock lock(mu);
      done_cv.wait(lock, [&] { return inflight.front()->done; });
    }
    std::unique_ptr<Batch> batch = std::move(inflight.front());
    inflight.pop_front();
    spool_ok = spool_ok && spool.Add(*batch);
    const auto& records = batch->result.records;
    for (size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      ++total;
      switch (r.outcome) {
        case transform::Outcome::kOk: ++ok; break;
        case transform::Outcome::kDropped: ++dropped; break;
        case transform::Outcome::kProcessingFailed:
          ++failed;
          err << "line " << (batch->first_line + i + 1) << ": " << r.error_code << ": "
              << r.error_message << "\n";
          break;
      }
    }
  }
  {
    std::lock_guard lock(mu);
    closing = true;
    work_cv.notify_all();
  }
  for (auto& w : workers) w.join();
  if (in.bad()) {
    err << "sluice transform: reading the input failed\n";
    return 2;
  }
  if (!spool_ok || !spool.WriteTo(out, format, order.columns())) {
    err << "sluice transform: writing the output failed: " << std::strerror(errno) << "\n";
    return 2;
  }
  out.flush();
  err << total << " records: " << ok << " Ok, " << dropped << " Dropped, " << failed
      << " ProcessingFailed\n";
  return failed > 0 ? 1 : 0;
}

}  // namespace sluice::cli
