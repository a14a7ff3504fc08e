#include "api/kinesis_ids.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "api/event_stream.h"
#include "common/base64.h"

namespace sluice::api {
namespace {

TEST(SequenceNumberTest, RoundTripsAndLooksLikeAws) {
  SequenceParts p{1'796'193'609'998, 7, 123'456'789};
  std::string seq = EncodeSequenceNumber(p);
  EXPECT_EQ(seq.size(), 56u) << seq;
  EXPECT_TRUE(IsSequenceNumberSyntax(seq));
  auto back = DecodeSequenceNumber(seq);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->stream_created_ms, p.stream_created_ms);
  EXPECT_EQ(back->shard, 7u);
  EXPECT_EQ(back->index, 123'456'789u);
}

TEST(SequenceNumberTest, IncreaseWithTheIndexAndTheIncarnation) {
  auto num = [](const std::string& s) { return s; };  // same length: compare as strings
  std::string a = num(EncodeSequenceNumber({1'700'000'000'000, 0, 1}));
  std::string b = num(EncodeSequenceNumber({1'700'000'000'000, 0, 2}));
  std::string c = num(EncodeSequenceNumber({1'700'000'000'000, 0, 1ull << 40}));
  std::string later = num(EncodeSequenceNumber({1'700'000'000'001, 0, 0}));
  ASSERT_EQ(a.size(), b.size());
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, later);  // a re-created stream never repeats an earlier one's numbers
}

TEST(SequenceNumberTest, RefusesWhatItDidNotIssue) {
  EXPECT_FALSE(DecodeSequenceNumber("0").has_value());
  EXPECT_FALSE(DecodeSequenceNumber("49546986683135544286507457936321625675700192471156785154"));
  EXPECT_FALSE(DecodeSequenceNumber(std::string(129, '9')).has_value());
  EXPECT_FALSE(DecodeSequenceNumber("12a").has_value());
  EXPECT_FALSE(IsSequenceNumberSyntax("012"));
  EXPECT_FALSE(IsSequenceNumberSyntax(""));
  std::string seq = EncodeSequenceNumber({1'700'000'000'000, 3, 9});
  seq.back() = seq.back() == '0' ? '1' : '0';  // the low digits are fixed by the layout
  EXPECT_FALSE(DecodeSequenceNumber(seq).has_value());
}

TEST(ShardIdTest, FormatsAndParsesAsAws) {
  EXPECT_EQ(ShardIdString(0), "shardId-000000000000");
  EXPECT_EQ(ShardIdString(12), "shardId-000000000012");
  EXPECT_EQ(ParseShardId("shardId-000000000012"), 12u);
  EXPECT_EQ(ParseShardId("12"), 12u);
  EXPECT_FALSE(ParseShardId("shardId-").has_value());
  EXPECT_FALSE(ParseShardId("shardId-x1").has_value());
  EXPECT_FALSE(ParseShardId("shardId-99999999999").has_value());
}

TEST(IteratorCodecTest, RoundTripsAndRefusesForgeries) {
  IteratorCodec codec(std::string(32, 'k'));
  IteratorParts p{"orders", 1'700'000'000'000, 3, 42, 1'700'000'100'000};
  std::string it = codec.Encode(p);
  EXPECT_EQ(it.substr(0, 11), "AAAAAAAAAAE");
  auto back = codec.Decode(it);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->stream, "orders");
  EXPECT_EQ(back->stream_created_ms, p.stream_created_ms);
  EXPECT_EQ(back->shard, 3u);
  EXPECT_EQ(back->offset, 42u);
  EXPECT_EQ(back->issued_ms, p.issued_ms);
  // Any changed byte fails the MAC; so does another server's key.
  std::string raw = *base64::Decode(it);
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string forged = raw;
    forged[i] ^= 0x01;
    EXPECT_FALSE(codec.Decode(base64::Encode(forged)).has_value()) << "byte " << i;
  }
  EXPECT_FALSE(IteratorCodec(std::string(32, 'x')).Decode(it).has_value());
  EXPECT_FALSE(codec.Decode("not base64!").has_value());
  EXPECT_FALSE(codec.Decode("").has_value());
  // A paging token is not an iterator, nor the other way round.
  std::string token = codec.EncodeToken("ListStreams", "b", 5);
  EXPECT_FALSE(codec.Decode(token).has_value());
  EXPECT_FALSE(codec.DecodeToken(it).has_value());
  auto t = codec.DecodeToken(token);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->subject, "ListStreams");
  EXPECT_EQ(t->after, "b");
  EXPECT_EQ(t->issued_ms, 5);
}

TEST(IteratorCodecTest, KeepsItsKeyInTheDataDir) {
  auto dir = std::filesystem::temp_directory_path() / "sluice-iterator-key-test";
  std::filesystem::remove_all(dir);
  std::string path = (dir / "kinesis" / "iterator.key").string();
  auto first = IteratorCodec::Open(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::string it = first->Encode({"s", 1, 0, 0, 2});
  auto second = IteratorCodec::Open(path);  // a restart: the same key, old iterators valid
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->Decode(it).has_value());
  std::filesystem::resize_file(path, 5);
  EXPECT_EQ(IteratorCodec::Open(path).status().code(), StatusCode::kCorruption);
  std::filesystem::remove_all(dir);
}

TEST(AmzUtcStringTest, WordsTimesAsKinesis) {
  EXPECT_EQ(AmzUtcString(1'421'889'722'000), "Thu Jan 22 01:22:02 UTC 2015");
  EXPECT_EQ(EpochSecondsText(1'441'215'410'867), "1441215410.867");
  EXPECT_EQ(EpochSecondsText(1'441'215'410'007), "1441215410.007");
}

TEST(EventStreamTest, EncodesMessagesThatDecode) {
  std::string m = EncodeEvent("SubscribeToShardEvent", R"({"Records":[]})");
  size_t used = 0;
  auto back = DecodeEventMessage(m + "trailing", used);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(used, m.size());
  EXPECT_EQ(back->payload, R"({"Records":[]})");
  ASSERT_EQ(back->headers.size(), 3u);
  EXPECT_EQ(back->headers[0], (std::pair<std::string, std::string>{":message-type", "event"}));
  EXPECT_EQ(back->headers[1].second, "SubscribeToShardEvent");
  // Damage anywhere fails a CRC; a short buffer is not a message.
  for (size_t i = 0; i < m.size(); ++i) {
    std::string bad = m;
    bad[i] ^= 0x20;
    EXPECT_FALSE(DecodeEventMessage(bad, used).has_value()) << "byte " << i;
  }
  EXPECT_FALSE(DecodeEventMessage(m.substr(0, m.size() - 1), used).has_value());
  auto ex = DecodeEventMessage(EncodeException("ResourceNotFoundException", "gone"), used);
  ASSERT_TRUE(ex.has_value());
  EXPECT_EQ(ex->headers[0].second, "exception");
  EXPECT_EQ(ex->headers[1].second, "ResourceNotFoundException");
  EXPECT_EQ(ex->payload, R"({"message":"gone"})");
}

// The known-answer vector: an empty-payload, header-free message is 16 bytes with these CRCs
// (prelude 00 00 00 10 00 00 00 00 -> CRC32 05 c2 48 eb, message CRC 7d 98 c8 ff, as in the
// AWS SDKs' event-stream test suites).
TEST(EventStreamTest, MatchesTheKnownEmptyMessage) {
  std::string m = EncodeEventMessage({}, "");
  const unsigned char want[] = {0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00,
                                0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8, 0xff};
  EXPECT_EQ(m, std::string(reinterpret_cast<const char*>(want), sizeof want));
}

}  // namespace
}  // namespace sluice::api
