// SubscribeToShard's event streams (Kinesis enhanced fan-out): each subscription pushes the
// records of one shard to its consumer as SubscribeToShardEvent messages
// (api/event_stream.h) for 5 minutes, then ends; the client resubscribes with the
// ContinuationSequenceNumber of the last event.
//
// One pump thread serves every subscription and exists only while there are subscriptions
// (idle costs nothing). It polls each subscription's shard every kPollMs, sends what arrived (at
// most one event in flight per subscription: a slow client holds back only itself), sends an
// event with no records at least every kHeartbeatMs, and at the end of a closed shard sends its
// ChildShards and ends the subscription.
//
// Thread safety: Add and Stop from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/http.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "streams/service.h"

namespace sluice::api {

struct Subscription {
  std::string consumer_arn;  // one active subscription per (consumer, shard)
  std::string stream;
  int64_t stream_created_ms = 0;
  uint32_t shard = 0;
  std::unique_ptr<streams::ShardReader> reader;
  std::shared_ptr<ResponseStream> out;
  int64_t deadline_ms = 0;  // monotonic
};

class KinesisSubscriptions {
 public:
  static constexpr int64_t kLifetimeMs = 300'000;
  static constexpr int64_t kPollMs = 50;
  static constexpr int64_t kHeartbeatMs = 5'000;
  static constexpr size_t kMaxEventBytes = 1 << 20;

  KinesisSubscriptions(streams::Service& service, Clock& clock);
  ~KinesisSubscriptions();  // Stop()

  // Starts pushing; `sub.out` has sent its initial-response event. A consumer has at most one
  // subscription per shard, as on AWS: an earlier one of the same consumer and shard is ended
  // (AWS refuses the new one with ResourceInUseException while the old is active; a client that
  // drops a subscription and resubscribes at once would be refused until the server notices the
  // drop, so Sluice lets the newest win instead).
  void Add(Subscription sub) SLUICE_EXCLUDES(mu_);
  // Ends every subscription and joins the pump. Idempotent.
  void Stop() SLUICE_EXCLUDES(mu_);
  size_t size() const SLUICE_EXCLUDES(mu_);

 private:
  struct Active;
  void Pump() SLUICE_EXCLUDES(mu_);
  // Sends what is new for `a`; false when the subscription is over.
  bool Serve(const std::shared_ptr<Active>& active, int64_t now);

  streams::Service& service_;
  Clock& clock_;
  mutable Mutex mu_;
  CondVar cv_;
  std::vector<std::shared_ptr<Active>> active_ SLUICE_GUARDED_BY(mu_);
  std::thread pump_ SLUICE_GUARDED_BY(mu_);
  bool pumping_ SLUICE_GUARDED_BY(mu_) = false;
  bool stopping_ SLUICE_GUARDED_BY(mu_) = false;
};

}  // namespace sluice::api
