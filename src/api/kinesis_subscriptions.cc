#include "api/kinesis_subscriptions.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#include "api/event_stream.h"
#include "api/kinesis_ids.h"
#include "common/json_writer.h"

namespace sluice::api {

struct KinesisSubscriptions::Active {
  Subscription sub;
  std::atomic<bool> in_flight{false};  // an event was written and is not sent yet
  std::atomic<bool> gone{false};       // the client went away
  int64_t last_event_ms = 0;           // monotonic
  journal::Offset next;                // the next offset to send
};

KinesisSubscriptions::KinesisSubscriptions(streams::Service& service, Clock& clock)
    : service_(service), clock_(clock) {}

KinesisSubscriptions::~KinesisSubscriptions() {
  Stop();
}

void KinesisSubscriptions::Add(Subscription sub) {
  auto a = std::make_shared<Active>();
  a->next = sub.reader->position();
  a->last_event_ms = clock_.MonotonicMs();
  a->sub = std::move(sub);
  MutexLock lock(mu_);
  if (stopping_) {
    a->sub.out->End();
    return;
  }
  for (auto& old : active_) {
    if (old->sub.consumer_arn == a->sub.consumer_arn && old->sub.shard == a->sub.shard &&
        !old->gone.exchange(true)) {
      old->sub.out->End();  // the pump drops it at its next pass
    }
  }
  active_.push_back(std::move(a));
  if (!pumping_) {
    if (pump_.joinable()) pump_.join();  // the previous pump has returned
    pumping_ = true;
    pump_ = std::thread([this] { Pump(); });
  }
  cv_.NotifyAll();
}

size_t KinesisSubscriptions::size() const {
  MutexLock lock(mu_);
  return active_.size();
}

void KinesisSubscriptions::Stop() {
  std::thread pump;
  std::vector<std::shared_ptr<Active>> left;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    cv_.NotifyAll();
    pump = std::move(pump_);
  }
  if (pump.joinable()) pump.join();
  {
    MutexLock lock(mu_);
    left.swap(active_);
  }
  for (auto& a : left) a->sub.out->End();
}

bool KinesisSubscriptions::Serve(const std::shared_ptr<Active>& active, int64_t now) {
  Active& a = *active;
  if (a.gone.load()) return false;
  if (now >= a.sub.deadline_ms) {
    a.sub.out->End();
    return false;
  }
  if (a.in_flight.load()) return true;  // back-pressure: one event at a time
  auto info = service_.Describe(a.sub.stream);
  const streams::Shard* shard = nullptr;
  if (info.ok() && info->spec.created_ms == a.sub.stream_created_ms) {
    for (const auto& s : info->spec.shards) {
      if (s.id == a.sub.shard) shard = &s;
    }
  }
  if (shard == nullptr) {
    a.sub.out->Write(EncodeException(
        "ResourceNotFoundException",
        "Shard " + ShardIdString(a.sub.shard) + " in stream " + a.sub.stream + " does not exist"));
    a.sub.out->End();
    return false;
  }
  std::vector<journal::StoredRecord> records;
  auto n = a.sub.reader->Next(10'000, kMaxEventBytes, records);
  if (!n.ok()) {
    spdlog::error("kinesis: subscription to {} {}: read failed: {}", a.sub.stream,
                  ShardIdString(a.sub.shard), n.status().ToString());
    a.sub.out->Write(EncodeException("InternalFailure", "Internal service failure."));
    a.sub.out->End();
    return false;
  }
  const bool drained =
      !shard->open && shard->end_offset && a.sub.reader->position() >= *shard->end_offset;
  if (records.empty() && !drained && now - a.last_event_ms < kHeartbeatMs) return true;
  if (!records.empty()) a.next = a.sub.reader->position();
  json::Writer w;
  w.BeginObject();
  w.Key("Records");
  w.BeginArray();
  for (const auto& r : records) WriteKinesisRecord(w, a.sub.stream_created_ms, a.sub.shard, r);
  w.EndArray();
  w.Key("ContinuationSequenceNumber");
  w.String(EncodeSequenceNumber({a.sub.stream_created_ms, a.sub.shard, a.next.value}));
  w.Key("MillisBehindLatest");
  int64_t behind = 0;
  auto latest =
      service_.Read(a.sub.stream, a.sub.shard, {streams::StartingPosition::Type::kLatest, {}, 0});
  if (latest.ok() && a.next < (*latest)->position() && !records.empty()) {
    behind = std::max<int64_t>(0, clock_.NowMs() - records.back().arrival_ms);
  }
  w.Int(behind);
  if (drained) WriteChildShards(w, info->spec, a.sub.shard);
  w.EndObject();
  a.last_event_ms = now;
  a.in_flight.store(true);
  // The callback keeps the subscription alive until the transport is done with the event.
  a.sub.out->Write(EncodeEvent("SubscribeToShardEvent", w.str()), [active](bool sent) {
    if (!sent) active->gone.store(true);
    active->in_flight.store(false);
  });
  if (drained) {
    a.sub.out->End();
    return false;
  }
  return true;
}

void KinesisSubscriptions::Pump() {
  for (;;) {
    std::vector<std::shared_ptr<Active>> current;
    {
      MutexLock lock(mu_);
      if (stopping_ || active_.empty()) {
        pumping_ = false;
        return;
      }
      current = active_;
    }
    const int64_t now = clock_.MonotonicMs();
    std::vector<Active*> done;
    for (auto& a : current) {
      if (!Serve(a, now)) done.push_back(a.get());
    }
    MutexLock lock(mu_);
    if (!done.empty()) {
      std::erase_if(active_, [&](const std::shared_ptr<Active>& a) {
        return std::find(done.begin(), done.end(), a.get()) != done.end();
      });
    }
    if (!stopping_) cv_.WaitFor(mu_, std::chrono::milliseconds(kPollMs));
  }
}

}  // namespace sluice::api
