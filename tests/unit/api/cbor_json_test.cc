#include "api/cbor_json.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace sluice::api {
namespace {

// "a2 61 61 01" -> the bytes; spaces are ignored.
std::string Hex(std::string_view hex) {
  std::string out;
  int hi = -1;
  for (char c : hex) {
    if (c == ' ') continue;
    int v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>(hi << 4 | v));
      hi = -1;
    }
  }
  EXPECT_LT(hi, 0) << "odd number of hex digits in " << hex;
  return out;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

// The JSON for CBOR given in hex; "ERROR: <message>" when it does not transcode.
std::string Json(std::string_view hex) {
  Result<std::string> r = CborRequestToJson(Hex(hex));
  return r.ok() ? *r : "ERROR: " + r.status().message();
}
bool Refused(std::string_view hex) {
  return !CborRequestToJson(Hex(hex)).ok();
}

// The CBOR (as hex) for JSON; "ERROR: <message>" when it does not transcode.
std::string Cbor(std::string_view json) {
  Result<std::string> r = JsonResponseToCbor(json);
  return r.ok() ? ToHex(*r) : "ERROR: " + r.status().message();
}

// --- RFC 8949 Appendix A vectors (the ones with a JSON form) ----------------------------------

TEST(CborRequestToJson, Rfc8949Integers) {
  EXPECT_EQ(Json("00"), "0");
  EXPECT_EQ(Json("01"), "1");
  EXPECT_EQ(Json("0a"), "10");
  EXPECT_EQ(Json("17"), "23");
  EXPECT_EQ(Json("1818"), "24");
  EXPECT_EQ(Json("1819"), "25");
  EXPECT_EQ(Json("1864"), "100");
  EXPECT_EQ(Json("1903e8"), "1000");
  EXPECT_EQ(Json("1a000f4240"), "1000000");
  EXPECT_EQ(Json("1b000000e8d4a51000"), "1000000000000");
  EXPECT_EQ(Json("1bffffffffffffffff"), "18446744073709551615");
  EXPECT_EQ(Json("3bffffffffffffffff"), "-18446744073709551616");
  EXPECT_EQ(Json("20"), "-1");
  EXPECT_EQ(Json("29"), "-10");
  EXPECT_EQ(Json("3863"), "-100");
  EXPECT_EQ(Json("3903e7"), "-1000");
  EXPECT_EQ(Json("3b7fffffffffffffff"), "-9223372036854775808");
}

TEST(CborRequestToJson, Rfc8949Floats) {
  EXPECT_EQ(Json("f90000"), "0.0");
  EXPECT_EQ(Json("f98000"), "-0.0");
  EXPECT_EQ(Json("f93c00"), "1.0");
  EXPECT_EQ(Json("fb3ff199999999999a"), "1.1");
  EXPECT_EQ(Json("f93e00"), "1.5");
  EXPECT_EQ(Json("f97bff"), "65504.0");
  EXPECT_EQ(Json("fa47c35000"), "1e+05");  // the shortest form that reads back
  EXPECT_EQ(Json("fa7f7fffff"), "3.4028234663852886e+38");
  EXPECT_EQ(Json("fb7e37e43c8800759c"), "1e+300");
  EXPECT_EQ(Json("f90001"), "5.960464477539063e-08");
  EXPECT_EQ(Json("f90400"), "6.103515625e-05");
  EXPECT_EQ(Json("f9c400"), "-4.0");
  EXPECT_EQ(Json("fbc010666666666666"), "-4.1");
}

TEST(CborRequestToJson, NaNAndInfinitiesAreRefused) {
  for (auto hex : {"f97c00", "f97e00", "f9fc00", "fa7f800000", "fa7fc00000", "faff800000",
                   "fb7ff0000000000000", "fb7ff8000000000000", "fbfff0000000000000"}) {
    EXPECT_TRUE(Refused(hex)) << hex;
  }
}

TEST(CborRequestToJson, Rfc8949SimpleValues) {
  EXPECT_EQ(Json("f4"), "false");
  EXPECT_EQ(Json("f5"), "true");
  EXPECT_EQ(Json("f6"), "null");
  EXPECT_EQ(Json("f7"), "null");  // undefined has no JSON form; null is the nearest
  // simple(16), simple(255): no JSON form.
  EXPECT_TRUE(Refused("f0"));
  EXPECT_TRUE(Refused("f8ff"));
}

TEST(CborRequestToJson, Rfc8949Strings) {
  EXPECT_EQ(Json("40"), R"("")");
  EXPECT_EQ(Json("4401020304"), R"("AQIDBA==")");  // blobs become base64
  EXPECT_EQ(Json("60"), R"("")");
  EXPECT_EQ(Json("6161"), R"("a")");
  EXPECT_EQ(Json("6449455446"), R"("IETF")");
  EXPECT_EQ(Json("62225c"), R"("\"\\")");
  EXPECT_EQ(Json("62c3bc"), "\"\xc3\xbc\"");
  EXPECT_EQ(Json("63e6b0b4"), "\"\xe6\xb0\xb4\"");
  EXPECT_EQ(Json("64f0908591"), "\"\xf0\x90\x85\x91\"");
  EXPECT_EQ(Json("62010a"), R"("\u0001\u000a")");
}

TEST(CborRequestToJson, Rfc8949ArraysAndMaps) {
  EXPECT_EQ(Json("80"), "[]");
  EXPECT_EQ(Json("83010203"), "[1,2,3]");
  EXPECT_EQ(Json("8301820203820405"), "[1,[2,3],[4,5]]");
  EXPECT_EQ(Json("98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
            "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]");
  EXPECT_EQ(Json("a0"), "{}");
  EXPECT_EQ(Json("a26161016162820203"), R"({"a":1,"b":[2,3]})");
  EXPECT_EQ(Json("826161a161626163"), R"(["a",{"b":"c"}])");
  EXPECT_EQ(Json("a56161614161626142616361436164614461656145"),
            R"({"a":"A","b":"B","c":"C","d":"D","e":"E"})");
}

TEST(CborRequestToJson, Rfc8949IndefiniteLengthItems) {
  EXPECT_EQ(Json("5f42010243030405ff"), R"("AQIDBAU=")");
  EXPECT_EQ(Json("7f657374726561646d696e67ff"), R"("streaming")");
  EXPECT_EQ(Json("9fff"), "[]");
  EXPECT_EQ(Json("9f018202039f0405ffff"), "[1,[2,3],[4,5]]");
  EXPECT_EQ(Json("9f01820203820405ff"), "[1,[2,3],[4,5]]");
  EXPECT_EQ(Json("83018202039f0405ff"), "[1,[2,3],[4,5]]");
  EXPECT_EQ(Json("83019f0203ff820405"), "[1,[2,3],[4,5]]");
  EXPECT_EQ(Json("9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff"),
            "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]");
  EXPECT_EQ(Json("bf61610161629f0203ffff"), R"({"a":1,"b":[2,3]})");
  EXPECT_EQ(Json("826161bf61626163ff"), R"(["a",{"b":"c"}])");
  EXPECT_EQ(Json("bf6346756ef563416d7421ff"), R"({"Fun":true,"Amt":-2})");
  EXPECT_EQ(Json("5fff"), R"("")");
  EXPECT_EQ(Json("bf7f61616162ff01ff"), R"({"ab":1})");  // an indefinite text key
  EXPECT_EQ(Json("9f7f6161ff7f6162ff5f4101ffff"), R"(["a","b","AQ=="])");
}

TEST(CborRequestToJson, OtherTagsStandForTheirContent) {
  EXPECT_EQ(Json("c074323031332d30332d32315432303a30343a30305a"), R"("2013-03-21T20:04:00Z")");
  EXPECT_EQ(Json("d74401020304"), R"("AQIDBA==")");
  EXPECT_EQ(Json("d818456449455446"), R"("ZElFVEY=")");
  EXPECT_EQ(Json("c249010000000000000000"), R"("AQAAAAAAAAAA")");  // a bignum's bytes, as a blob
  // libcbor 0.8 refuses the unassigned one-byte tags 6..20 (c6..d4) as malformed.
  EXPECT_TRUE(Refused("c600"));
}

// --- AWS's tag-1 quirk: integer MILLISECONDS ---------------------------------------------------

TEST(CborRequestToJson, EpochTagHoldsMillisecondsAndBecomesSeconds) {
  EXPECT_EQ(Json("c11b0000014f8f21f2b3"), "1441215410.867");
  EXPECT_EQ(Json("c11b0000014f8f21ef50"), "1441215410");
  EXPECT_EQ(Json("c11b0000014f8f21f2a8"), "1441215410.856");
  EXPECT_EQ(Json("c11b0000014f8f21ef5a"), "1441215410.01");
  EXPECT_EQ(Json("c11b0000014f8f21ef51"), "1441215410.001");
  EXPECT_EQ(Json("c100"), "0");
  EXPECT_EQ(Json("c13901f3"), "-0.5");  // -500 ms
  // RFC 8949's own example, 1(1363896240), read as AWS means it: milliseconds.
  EXPECT_EQ(Json("c11a514b67b0"), "1363896.24");
  // A float under tag 1 is milliseconds too.
  EXPECT_EQ(Json("c1fb4274f8f21f2b3000"), "1441215410.867");
}

TEST(CborRequestToJson, EpochTagOnANonNumberIsRefused) {
  EXPECT_TRUE(Refused("c16161"));    // text
  EXPECT_TRUE(Refused("c140"));      // bytes
  EXPECT_TRUE(Refused("c180"));      // array
  EXPECT_TRUE(Refused("c1a0"));      // map
  EXPECT_TRUE(Refused("c1f6"));      // null
  EXPECT_TRUE(Refused("c1c100"));    // a tag
  EXPECT_TRUE(Refused("c1"));        // nothing
  EXPECT_TRUE(Refused("c1f97c00"));  // infinity
  EXPECT_TRUE(Refused("c13bffffffffffffffff"));
}

TEST(CborRequestToJson, GetShardIteratorAsTheJavaSdkSendsIt) {
  // bf "StreamName" "s" "ShardId" "shardId-000000000000" "ShardIteratorType" "AT_TIMESTAMP"
  //    "Timestamp" 1(1441215410867) ff
  std::string hex =
      "bf6a53747265616d4e616d656173675368617264496474736861726449642d30303030303030303030303071"
      "53686172644974657261746f72547970656c41545f54494d455354414d506954696d657374616d70c11b000001"
      "4f8f21f2b3ff";
  EXPECT_EQ(Json(hex), R"({"StreamName":"s","ShardId":"shardId-000000000000",)"
                       R"("ShardIteratorType":"AT_TIMESTAMP","Timestamp":1441215410.867})");
}

TEST(CborRequestToJson, PutRecordsBlobsArriveAsBase64) {
  // bf "Records" 9f bf "Data" h'000102ff' "PartitionKey" "k" ff ff "StreamName" "s" ff
  EXPECT_EQ(Json("bf675265636f7264739fbf644461746144000102ff6c506172746974696f6e4b6579616bffff"
                 "6a53747265616d4e616d656173ff"),
            R"({"Records":[{"Data":"AAEC/w==","PartitionKey":"k"}],"StreamName":"s"})");
}

TEST(CborRequestToJson, EmptyBodyIsAnEmptyObject) {
  Result<std::string> r = CborRequestToJson("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "{}");
}

// --- Malformed input ---------------------------------------------------------------------------

TEST(CborRequestToJson, TruncatedItemsAreRefused) {
  // From RFC 8949 Appendix F.1 ("end of input in a head", "definite-length strings with short
  // data", "definite-length maps and arrays not closed", "indefinite-length ... not closed").
  for (auto hex : {"18",
                   "19",
                   "1a",
                   "1b",
                   "1901",
                   "1a0102",
                   "1b01020304050607",
                   "38",
                   "58",
                   "78",
                   "98",
                   "9a01ff00",
                   "b8",
                   "d8",
                   "f8",
                   "f900",
                   "fa0000",
                   "fb000000",
                   "41",
                   "61",
                   "5affffffff00",
                   "5bffffffffffffffff010203",
                   "7affffffff00",
                   "7b7fffffffffffffff010203",
                   "81",
                   "818181818181818181",
                   "8200",
                   "a1",
                   "a20102",
                   "a100",
                   "a2000000",
                   "5f4100",
                   "5f",
                   "7f6100",
                   "9f",
                   "9f0102",
                   "bf",
                   "bf01020102",
                   "819f",
                   "9f8000",
                   "9f9f9f9f9fffffffff",
                   "9f819f819f9fffffff",
                   "bf6161",
                   "a16161"}) {
    EXPECT_TRUE(Refused(hex)) << hex;
  }
}

TEST(CborRequestToJson, ReservedAndWrongTypesAreRefused) {
  // Reserved additional information 28..30 in every major type; F.1 "reserved".
  for (auto hex : {"1c", "1d", "1e", "3c", "3d", "3e", "5c", "5d", "5e", "7c", "7d", "7e", "9c",
                   "9d", "9e", "bc", "bd", "be", "dc", "dd", "de", "fc", "fd", "fe",
                   // F.1 "indefinite-length strings with the wrong chunk type"
                   "5f00ff", "5f21ff", "5f6100ff", "5f80ff", "5fa0ff", "5fc000ff", "5fe0ff",
                   "7f4100ff", "5f5f4100ffff", "7f7f6100ffff",
                   // F.1 "break occurring on its own outside of an indefinite item"
                   "ff", "81ff", "8200ff", "a1ff", "a1ff00", "a100ff", "a20000ff", "9f81ff",
                   "9f829f819f9fffffffff",
                   // "break in a map between key and value"
                   "bf6161ff", "bf00ff",
                   // two-byte encodings of simple values below 32
                   "f800", "f81f"}) {
    EXPECT_TRUE(Refused(hex)) << hex;
  }
}

TEST(CborRequestToJson, MapKeysMustBeText) {
  EXPECT_TRUE(Refused("a201020304"));    // RFC 8949's {1: 2, 3: 4}
  EXPECT_TRUE(Refused("a1410000"));      // byte-string key
  EXPECT_TRUE(Refused("a18000"));        // array key
  EXPECT_TRUE(Refused("a1f600"));        // null key
  EXPECT_TRUE(Refused("a1c1016161"));    // tagged key
  EXPECT_TRUE(Refused("bf5f41ff00ff"));  // indefinite byte-string key
}

TEST(CborRequestToJson, InvalidUtf8IsRefused) {
  EXPECT_TRUE(Refused("61ff"));
  EXPECT_TRUE(Refused("62c328"));
  EXPECT_TRUE(Refused("a161ff00"));
  EXPECT_TRUE(Refused("7f61c3ff"));
}

TEST(CborRequestToJson, NestingIsBoundedWithoutRecursion) {
  std::string ok_depth(kCborMaxDepth, '\x81');
  ok_depth.push_back('\x00');
  Result<std::string> r = CborRequestToJson(ok_depth);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, std::string(kCborMaxDepth, '[') + "0" + std::string(kCborMaxDepth, ']'));

  std::string too_deep(kCborMaxDepth + 1, '\x81');
  too_deep.push_back('\x00');
  EXPECT_FALSE(CborRequestToJson(too_deep).ok());
  // A depth bomb of a million indefinite arrays (and of maps) is refused, not overflowed.
  EXPECT_FALSE(CborRequestToJson(std::string(1 << 20, '\x9f')).ok());
  std::string maps;
  for (int i = 0; i < 100000; ++i) maps += "\xa1\x61\x61";
  EXPECT_FALSE(CborRequestToJson(maps).ok());
  // A chain of 1,000 tags 23 is read iteratively too; tags other than 1 stand for their content.
  std::string tags;
  for (int i = 0; i < 1000; ++i) tags += "d7";
  EXPECT_EQ(Json(tags + "00"), "0");
}

TEST(CborRequestToJson, HugeDeclaredLengthsAllocateNothing) {
  // Arrays, maps and strings declaring 2^64-1 and 2^32-1 items with a few bytes behind them.
  for (auto hex : {"9bffffffffffffffff00", "bbffffffffffffffff616100", "5bffffffffffffffff00",
                   "7bffffffffffffffff61", "9affffffff00", "baffffffff616100", "5affffffff00",
                   "7affffffff61"}) {
    EXPECT_TRUE(Refused(hex)) << hex;
  }
}

TEST(CborRequestToJson, TrailingBytesAreRefused) {
  EXPECT_TRUE(Refused("a000"));
  EXPECT_TRUE(Refused("0000"));
  EXPECT_TRUE(Refused("bfff00"));
  EXPECT_TRUE(Refused("a0ff"));
  EXPECT_TRUE(Refused("a0a0"));
  Result<std::string> r = CborRequestToJson(Hex("a0 00"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("trailing"), std::string::npos) << r.status().message();
}

// --- JSON -> CBOR ------------------------------------------------------------------------------

TEST(JsonResponseToCbor, ScalarsKeepTheirKinds) {
  // {"Limit":10,"Neg":-5,"Big":18446744073709551615,"F":1.5,"T":true,"N":null,"S":"x"}
  EXPECT_EQ(Cbor(R"({"Limit":10,"Neg":-5,"Big":18446744073709551615,"F":1.5,"T":true,)"
                 R"("N":null,"S":"x"})"),
            "a7654c696d69740a634e656724634269671bffffffffffffffff6146fb3ff8000000000000"
            "6154f5614ef6615361"
            "78");
  EXPECT_EQ(Cbor("-9223372036854775808"), "3b7fffffffffffffff");
  EXPECT_EQ(Cbor("[]"), "80");
  EXPECT_EQ(Cbor("{}"), "a0");
  EXPECT_EQ(Cbor("[1,[2,3]]"), "8201820203");
}

TEST(JsonResponseToCbor, DataBecomesAByteString) {
  EXPECT_EQ(Cbor(R"({"Data":"AQID"})"), "a1644461746143010203");
  EXPECT_EQ(Cbor(R"({"Data":""})"), "a1644461746140");
  // Only the blob member: another string that looks like base64 stays text.
  EXPECT_EQ(Cbor(R"({"Dat":"AQID"})"),
            "a163446174644151494"
            "4");
  EXPECT_EQ(Cbor(R"({"Data":"not base64!"})").substr(0, 5), "ERROR");
}

TEST(JsonResponseToCbor, TimestampsBecomeTagOneMilliseconds) {
  EXPECT_EQ(Cbor(R"({"ApproximateArrivalTimestamp":1441215410.867})"),
            "a1781b417070726f78696d617465417272697661"
            "6c54696d657374616d70c11b0000014f8f21f2b3");
  EXPECT_EQ(Cbor(R"({"StreamCreationTimestamp":1441215410})"),
            "a17753747265616d4372656174696f6e54696d657374616d70c11b0000014f8f21ef50");
  EXPECT_EQ(Cbor(R"({"Timestamp":1459799926.48})"), "a16954696d657374616d70c11b00000153e2db26d0");
  EXPECT_EQ(Cbor(R"({"ConsumerCreationTimestamp":-0.5})"),
            "a17819436f6e73756d65724372656174696f6e54696d657374616d70c13901f3");
  // Other numbers under other names stay numbers.
  EXPECT_EQ(Cbor(R"({"MillisBehindLatest":1441215410})"),
            "a1724d696c6c6973426568696e644c61746573741a55e733b2");
  EXPECT_EQ(Cbor(R"({"Timestamp":1e300})").substr(0, 5), "ERROR");
  EXPECT_EQ(Cbor(R"({"Timestamp":9223372036854775807})").substr(0, 5), "ERROR");
}

TEST(JsonResponseToCbor, InvalidJsonIsAnError) {
  EXPECT_EQ(Cbor("{").substr(0, 5), "ERROR");
  EXPECT_EQ(Cbor(R"({"a":1} x)").substr(0, 5), "ERROR");
  EXPECT_EQ(Cbor(""), "");
}

TEST(CborJson, GetRecordsResponseRoundTrips) {
  std::string json =
      R"({"Records":[{"SequenceNumber":"49546986683135544286507457936321625675700192471156785154",)"
      R"("ApproximateArrivalTimestamp":1441215410.867,"Data":"AAEC/w==","PartitionKey":"k",)"
      R"("EncryptionType":"NONE"}],"NextShardIterator":"AAAAAAAAAAE=","MillisBehindLatest":0})";
  Result<std::string> cbor = JsonResponseToCbor(json);
  ASSERT_TRUE(cbor.ok()) << cbor.status().message();
  Result<std::string> back = CborRequestToJson(*cbor);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, json);
}

TEST(CborJson, TimestampsRoundTripAtMillisecondPrecision) {
  for (std::string seconds : {"0", "1", "1441215410.867", "1441215410.8", "1441215410.01",
                              "1441215410.001", "4102444800.999", "-0.5", "-1441215410.867"}) {
    std::string json = R"({"Timestamp":)" + seconds + "}";
    Result<std::string> cbor = JsonResponseToCbor(json);
    ASSERT_TRUE(cbor.ok()) << seconds;
    Result<std::string> back = CborRequestToJson(*cbor);
    ASSERT_TRUE(back.ok()) << seconds;
    EXPECT_EQ(*back, json);
  }
}

}  // namespace
}  // namespace sluice::api
