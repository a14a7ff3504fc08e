#include "transform/builtin.h"

#include "common/base64.h"

namespace sluice::transform {
namespace {

class AppendDelimiterStage final : public Stage {
 public:
  bool is_row_stage() const override { return false; }
  void ProcessItems(std::vector<Item>& items, BatchContext& ctx) override {
    for (Item& item : items) {
      if (ctx.Failed(item.source)) continue;
      std::string bytes;
      bytes.reserve(item.data.size() + 1);
      bytes.append(item.data);
      bytes += '\n';
      item.data = ctx.Own(std::move(bytes));
    }
  }
};

class DeAggregationStage final : public Stage {
 public:
  DeAggregationStage(bool json, std::string delimiter)
      : json_(json), delimiter_(std::move(delimiter)) {}
  bool is_row_stage() const override { return false; }
  void ProcessItems(std::vector<Item>& items, BatchContext& ctx) override {
    std::vector<Item> out;
    out.reserve(items.size());
    std::vector<std::string_view> parts;
    std::string error;
    for (const Item& item : items) {
      if (ctx.Failed(item.source)) continue;
      parts.clear();
      if (json_) {
        if (!SplitJsonValues(item.data, parts, error)) {
          ctx.Fail(item.source, "Transform.DeAggregationFailed", error);
          continue;
        }
      } else {
        std::string_view rest = item.data;
        while (!rest.empty()) {
          auto pos = rest.find(delimiter_);
          auto part = rest.substr(0, pos);
          if (!part.empty()) parts.push_back(part);
          if (pos == std::string_view::npos) break;
          rest.remove_prefix(pos + delimiter_.size());
        }
      }
      for (size_t n = 0; n < parts.size(); ++n) {
        std::string id(item.record_id);
        id += ':';
        id += std::to_string(n);
        out.push_back(Item{item.source, parts[n], ctx.Own(std::move(id))});
      }
    }
    items = std::move(out);
  }

 private:
  bool json_;
  std::string delimiter_;
};

}  // namespace

bool SplitJsonValues(std::string_view data, std::vector<std::string_view>& parts,
                     std::string& error) {
  size_t i = 0;
  const size_t n = data.size();
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (true) {
    while (i < n && space(data[i])) ++i;
    if (i == n) return true;
    if (data[i] != '{' && data[i] != '[') {
      error = "byte " + std::to_string(i) + ": expected '{' or '[' to start a JSON sub-record";
      return false;
    }
    size_t start = i;
    int depth = 0;
    bool in_string = false;
    for (; i < n; ++i) {
      char c = data[i];
      if (in_string) {
        if (c == '\\') {
          ++i;
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) break;
      }
    }
    if (i >= n) {
      error = "byte " + std::to_string(start) + ": unterminated JSON sub-record";
      return false;
    }
    ++i;
    parts.push_back(data.substr(start, i - start));
  }
}

std::unique_ptr<Stage> MakeAppendDelimiterStage() {
  return std::unique_ptr<Stage>(new AppendDelimiterStage());
}

std::unique_ptr<Stage> MakeDeAggregationStage(const DeAggregationParams& params) {
  return std::unique_ptr<Stage>(new DeAggregationStage(
      params.sub_record_type == DeAggregationParams::SubRecordType::kJson, params.delimiter));
}

}  // namespace sluice::transform
