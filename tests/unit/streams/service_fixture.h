// The fixture of the streams tests: a Service on a journal in a temp dir, with a manual clock.
#pragma once

#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "journal/journal.h"
#include "streams/service.h"

namespace sluice::streams {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/streams_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    OpenAll();
  }
  void TearDown() override {
    service_.reset();
    if (journal_) journal_->Close();
    journal_.reset();
    std::filesystem::remove_all(dir_);
  }
  void OpenAll() {
    service_.reset();
    if (journal_) journal_->Close();
    journal::Options jo = journal_options_;
    jo.dir = fs::Join(dir_, "journal");
    jo.clock = &clock_;
    journal_ = std::move(journal::Journal::Open(jo).value());
    ServiceOptions so = service_options_;
    so.catalog_dir = fs::Join(dir_, "catalog");
    so.clock = &clock_;
    service_ = std::make_unique<Service>(journal_.get(), so);
    ASSERT_TRUE(service_->Open().ok());
  }
  std::vector<AppendOutcome> AppendNow(const std::string& name, std::vector<Record> records) {
    std::promise<Result<AppendResult>> p;
    service_->Append(name, std::move(records), [&](auto r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) {
      EXPECT_EQ(r->stream_created_ms, service_->Describe(name)->spec.created_ms);
    }
    return r.ok() ? r->records : std::vector<AppendOutcome>{};
  }
  std::vector<std::string> ReadAll(const std::string& name, uint32_t shard,
                                   StartingPosition from = {}) {
    auto reader = service_->Read(name, shard, from);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    std::vector<journal::StoredRecord> out;
    while ((*reader)->Next(100, 1 << 20, out).value() > 0) {
    }
    std::vector<std::string> data;
    for (auto& r : out) data.push_back(r.data);
    return data;
  }
  // The data of records appended with Append (their payloads carry the partition key), checking
  // that every key is `key`.
  std::vector<std::string> ReadKeyed(const std::string& name, uint32_t shard,
                                     StartingPosition from = {}) {
    std::vector<std::string> data;
    for (const auto& payload : ReadAll(name, shard, from)) {
      auto keyed = SplitKeyed(payload);
      EXPECT_TRUE(keyed.has_value()) << payload;
      if (keyed) data.emplace_back(keyed->data);
    }
    return data;
  }

  std::string dir_;
  journal::Options journal_options_;  // before OpenAll: dir and clock are set there
  ServiceOptions service_options_;    // likewise catalog_dir and clock
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<Service> service_;
};

}  // namespace sluice::streams
