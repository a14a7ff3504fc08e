// Service's resharding: SplitShard, MergeShards, UpdateShardCount and the one switch they share.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "streams/service.h"

namespace sluice::streams {
namespace {

std::string ShardNotFound(const std::string& name, uint32_t shard) {
  return "shard " + std::to_string(shard) + " of stream " + name + " not found";
}

std::string NotEligible(const std::string& name, uint32_t shard) {
  return "shard " + std::to_string(shard) + " of stream " + name +
         " has already been merged or split, and thus is not eligible for merging or splitting";
}

const Shard* FindInSpec(const StreamSpec& spec, uint32_t id) {
  for (const auto& s : spec.shards) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

// The next unused shard id: one past the largest.
uint32_t NextId(const StreamSpec& spec) {
  uint32_t next = 0;
  for (const auto& s : spec.shards) next = std::max(next, s.id + 1);
  return next;
}

std::vector<const Shard*> OpenByStart(const StreamSpec& spec) {
  std::vector<const Shard*> open;
  for (const auto& s : spec.shards) {
    if (s.open) open.push_back(&s);
  }
  std::sort(open.begin(), open.end(),
            [](const Shard* a, const Shard* b) { return a->hash_keys.start < b->hash_keys.start; });
  return open;
}

std::string Ranges(const StreamSpec& spec, std::vector<uint32_t> ids) {
  std::sort(ids.begin(), ids.end());
  std::string out;
  for (uint32_t id : ids) {
    if (!out.empty()) out += ", ";
    out += std::to_string(id);
    if (const Shard* s = FindInSpec(spec, id)) {
      out += " [" + s->hash_keys.start.ToDecimal() + ", " + s->hash_keys.end.ToDecimal() + "]";
    }
  }
  return out;
}

}  // namespace

std::vector<uint32_t> Children(const StreamSpec& spec, uint32_t shard) {
  std::vector<uint32_t> out;
  for (const auto& s : spec.shards) {
    if (s.parent == shard || s.adjacent_parent == shard) out.push_back(s.id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status Service::SplitShard(const std::string& name, uint32_t shard, HashKey new_starting_hash_key) {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Entry> e, Find(name));
  MutexLock update(e->update_mu);
  SLUICE_RETURN_IF_ERROR(CheckNotRemoved(*e));
  StreamSpec spec = e->spec;  // its writers hold update_mu
  const Shard* parent = FindInSpec(spec, shard);
  if (parent == nullptr) return Status::NotFound(ShardNotFound(name, shard));
  if (!parent->open) return Status::InvalidArgument(NotEligible(name, shard));
  const HashKeyRange range = parent->hash_keys;
  if (!(range.start < new_starting_hash_key && new_starting_hash_key <= range.end)) {
    return Status::InvalidArgument("new starting hash key " + new_starting_hash_key.ToDecimal() +
                                   " of shard " + std::to_string(shard) + " of stream " + name +
                                   " is not both greater than the shard's starting hash key " +
                                   range.start.ToDecimal() + " and at most its ending hash key " +
                                   range.end.ToDecimal());
  }
  const size_t open = OpenByStart(spec).size();
  if (open + 1 > options_.max_open_shards) {
    return Status::ResourceExhausted("splitting shard " + std::to_string(shard) + " of stream " +
                                     name + " would exceed the limit of " +
                                     std::to_string(options_.max_open_shards) + " open shards");
  }
  const uint32_t next = NextId(spec);
  Reshard reshard;
  reshard.close = {shard};
  reshard.add = {Shard{next, {range.start, new_starting_hash_key.Prev()}, shard},
                 Shard{next + 1, {new_starting_hash_key, range.end}, shard}};
  return ApplyReshard(*e, std::move(spec), reshard);
}

Status Service::MergeShards(const std::string& name, uint32_t shard, uint32_t adjacent) {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Entry> e, Find(name));
  MutexLock update(e->update_mu);
  SLUICE_RETURN_IF_ERROR(CheckNotRemoved(*e));
  StreamSpec spec = e->spec;
  const Shard* a = FindInSpec(spec, shard);
  if (a == nullptr) return Status::NotFound(ShardNotFound(name, shard));
  const Shard* b = FindInSpec(spec, adjacent);
  if (b == nullptr) return Status::NotFound(ShardNotFound(name, adjacent));
  if (!a->open) return Status::InvalidArgument(NotEligible(name, shard));
  if (!b->open) return Status::InvalidArgument(NotEligible(name, adjacent));
  const Shard* lower = a->hash_keys.start < b->hash_keys.start ? a : b;
  const Shard* upper = lower == a ? b : a;
  if (a == b || lower->hash_keys.end == HashKey::Max() ||
      lower->hash_keys.end.Next() != upper->hash_keys.start) {
    return Status::InvalidArgument("shards " + std::to_string(shard) + " and " +
                                   std::to_string(adjacent) + " of stream " + name +
                                   " are not an adjacent pair of shards eligible for merging");
  }
  Reshard reshard;
  reshard.close = {lower->id, upper->id};
  reshard.add = {
      Shard{NextId(spec), {lower->hash_keys.start, upper->hash_keys.end}, lower->id, upper->id}};
  return ApplyReshard(*e, std::move(spec), reshard);
}

Status Service::UpdateShardCount(const std::string& name, uint32_t target) {
  SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<Entry> e, Find(name));
  MutexLock update(e->update_mu);
  SLUICE_RETURN_IF_ERROR(CheckNotRemoved(*e));
  StreamSpec spec = e->spec;
  if (target == 0) {
    return Status::InvalidArgument("the target shard count of stream " + name +
                                   " must be at least 1");
  }
  if (spec.on_demand) {
    return Status::FailedPrecondition("stream " + name +
                                      " is on demand: its shards scale with its write rate");
  }
  const std::vector<const Shard*> open = OpenByStart(spec);
  const uint64_t current = open.size();
  const std::string counts = ". Current open shard count: " + std::to_string(current) +
                             " Target shard count: " + std::to_string(target);
  if (target > 2 * current) {
    return Status::ResourceExhausted(
        "stream " + name + ": cannot scale up over double the current open shard count" + counts);
  }
  if (target < (current + 1) / 2) {
    return Status::ResourceExhausted(
        "stream " + name + ": cannot scale down below half the current open shard count" + counts);
  }
  if (target > options_.max_open_shards) {
    return Status::ResourceExhausted("stream " + name + ": cannot scale over the limit of " +
                                     std::to_string(options_.max_open_shards) + " open shards" +
                                     counts);
  }
  const std::vector<HashKeyRange> ranges = EvenRanges(target);
  if (current == target) {
    bool even = true;
    for (size_t i = 0; i < ranges.size(); ++i) even = even && open[i]->hash_keys == ranges[i];
    if (even) return Status::Ok();
  }

  // The plan: first split every open shard at each new range start inside it (pieces aligned to
  // the new ranges), then merge the pieces of each new range left to right. A shard that already
  // is a new range stays open as it is. Every new shard but the final ones is closed at once.
  uint32_t next = NextId(spec);
  Reshard reshard;
  std::map<uint32_t, size_t> added;  // new shard id -> index in reshard.add
  auto add = [&](HashKeyRange keys, std::optional<uint32_t> parent,
                 std::optional<uint32_t> adjacent) {
    added[next] = reshard.add.size();
    reshard.add.push_back(Shard{next, keys, parent, adjacent});
    return next++;
  };
  auto close = [&](uint32_t id) {
    auto it = added.find(id);
    if (it == added.end()) {
      reshard.close.push_back(id);
      return;
    }
    Shard& s = reshard.add[it->second];
    s.open = false;
    s.end_offset = journal::Offset{0};
  };
  struct Piece {
    uint32_t id;
    HashKeyRange keys;
  };
  std::vector<Piece> pieces;
  size_t r = 1;  // the next new range start to place
  for (const Shard* shard : open) {
    Piece piece{shard->id, shard->hash_keys};
    while (r < ranges.size() && ranges[r].start <= shard->hash_keys.start) ++r;
    for (; r < ranges.size() && ranges[r].start <= piece.keys.end; ++r) {
      const HashKey at = ranges[r].start;
      const uint32_t left = add({piece.keys.start, at.Prev()}, piece.id, std::nullopt);
      const uint32_t right = add({at, piece.keys.end}, piece.id, std::nullopt);
      close(piece.id);
      pieces.push_back(Piece{left, {piece.keys.start, at.Prev()}});
      piece = Piece{right, {at, piece.keys.end}};
    }
    pieces.push_back(piece);
  }
  size_t p = 0;
  for (const HashKeyRange& range : ranges) {
    Piece merged = pieces[p++];
    while (merged.keys.end != range.end) {
      const Piece& upper = pieces[p++];
      const uint32_t id = add({merged.keys.start, upper.keys.end}, merged.id, upper.id);
      close(merged.id);
      close(upper.id);
      merged = Piece{id, {merged.keys.start, upper.keys.end}};
    }
  }
  return ApplyReshard(*e, std::move(spec), reshard);
}

Status Service::ApplyReshard(Entry& e, StreamSpec spec, const Reshard& reshard) {
  // 1. The new shards' journal partitions, which must be empty (their ids were never used).
  std::vector<std::unique_ptr<ShardState>> states;
  for (const Shard& s : reshard.add) {
    SLUICE_ASSIGN_OR_RETURN(journal::PartitionLog * log,
                            journal_->Partition(JournalName(e.name), s.id));
    if (log->End() != journal::Offset{0}) {
      return Status::FailedPrecondition("stream " + e.name +
                                        ": the journal partition of new shard " +
                                        std::to_string(s.id) + " already holds records");
    }
    auto state = std::make_unique<ShardState>();
    state->id = s.id;
    state->hash_keys = s.hash_keys;
    state->log = log;
    states.push_back(std::move(state));
  }
  // 2. The new shape is persisted before any record goes to a new shard: a crash from here on
  // restarts with the parents closed (Open sets their end from their logs).
  const int64_t now = options_.clock->NowMs();
  for (uint32_t id : reshard.close) {
    for (auto& s : spec.shards) {
      if (s.id != id) continue;
      s.open = false;
      s.closed_ms = now;
    }
  }
  for (Shard s : reshard.add) {
    s.opened_ms = now;
    if (!s.open) s.closed_ms = now;  // an intermediate shard of UpdateShardCount
    spec.shards.push_back(s);
  }
  if (Status st = ValidateShards(spec); !st.ok()) {
    return Status::Internal("a reshard of stream " + e.name +
                            " planned a bad shape: " + st.message());
  }
  if (e.kind == StreamKind::kStandalone) SLUICE_RETURN_IF_ERROR(Persist(spec));
  // 3. The switch: from here on Append routes to the new open shards only.
  std::vector<ShardState*> closing;
  {
    WriterMutexLock life(e.life_mu);
    for (auto& state : states) {
      const uint32_t id = state->id;
      e.shards.emplace(id, std::move(state));
    }
    e.open.clear();
    for (const Shard* s : OpenByStart(spec)) e.open.push_back(FindShard(e, s->id));
    for (uint32_t id : reshard.close) closing.push_back(FindShard(e, id));
  }
  // 4. The closed shards' ends, once every record handed to them is durable (or failed): records
  // get their offsets when the journal commits them, not when they are handed over.
  for (ShardState* s : closing) {
    MutexLock lock(s->mu);
    while (s->in_flight > 0) s->drained.Wait(s->mu);
  }
  for (ShardState* s : closing) {
    for (auto& shard : spec.shards) {
      if (shard.id == s->id) shard.end_offset = s->log->End();
    }
  }
  Status persisted = Status::Ok();
  if (e.kind == StreamKind::kStandalone) {
    persisted = Persist(spec);
    if (!persisted.ok()) {
      persisted = persisted.WithContext("stream " + e.name +
                                        ": resharded, but the closed shards' ends were not saved "
                                        "(the next start sets them again)");
    }
  }
  std::vector<uint32_t> added;
  for (const Shard& s : reshard.add) {
    if (s.open) added.push_back(s.id);
  }
  spdlog::info("stream {}: closed shards {}; open shards {}; {} intermediate", e.name,
               Ranges(spec, reshard.close), Ranges(spec, added), reshard.add.size() - added.size());
  MutexLock lock(mu_);
  e.spec = std::move(spec);
  return persisted;
}

}  // namespace sluice::streams
