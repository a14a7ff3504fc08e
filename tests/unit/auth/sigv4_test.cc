// SigV4 verification against AWS's published Signature Version 4 test suite (aws-sig-v4-test-
// suite: get-vanilla, post-x-www-form-urlencoded, get-vanilla-query-order-key-case; credentials
// AKIDEXAMPLE, date 20150830T123600Z, region us-east-1, service "service") and the failures AWS
// JSON services answer. The presigned vector was computed independently with botocore's
// SigV4QueryAuth.
#include "auth/sigv4.h"

#include <gtest/gtest.h>

namespace sluice::auth {
namespace {

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr int64_t k20150830T123600Z = 1440938160000;
constexpr char kEmptyHash[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

class SigV4Test : public ::testing::Test {
 protected:
  SigV4Test() : clock_(k20150830T123600Z) { Reset(); }

  void Reset(std::string session_token = "") {
    AccessKey key{"AKIDEXAMPLE", kSecret, std::move(session_token), "example", nullptr};
    VerifierOptions o;
    o.regions = {"us-east-1"};
    o.clock = &clock_;
    verifier_ = std::make_unique<Verifier>(o, std::vector<AccessKey>{key});
  }

  std::variant<Identity, AuthError> Verify(const std::string& method, const std::string& target,
                                           const Headers& headers, const std::string& body = "") {
    return verifier_->Verify(RequestView{method, target, &headers, body}, "service");
  }

  static AuthError ErrorOf(const std::variant<Identity, AuthError>& v) {
    if (const auto* e = std::get_if<AuthError>(&v)) return *e;
    return {"(verified)", ""};
  }

  static Headers Vanilla(
      const std::string& signature,
      const std::string& credential = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request") {
    return {{"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
            {"Authorization", "AWS4-HMAC-SHA256 Credential=" + credential +
                                  ", SignedHeaders=host;x-amz-date, Signature=" + signature}};
  }

  // Signs `headers` (adds X-Amz-Date and Authorization) with `secret`, as a client does.
  static void SignWith(Headers& headers, const std::string& body, const std::string& secret,
                       const std::string& signed_headers, const std::string& region = "us-east-1",
                       const std::string& date = "20150830T123600Z") {
    headers.emplace_back("X-Amz-Date", date);
    RequestView view{"POST", "/", &headers, body};
    auto canonical = CanonicalRequest(view, signed_headers, Sha256Hex(body));
    ASSERT_TRUE(canonical.has_value());
    std::string scope = date.substr(0, 8) + "/" + region + "/service/aws4_request";
    std::string sig =
        Sign(secret, date.substr(0, 8), region, "service", StringToSign(date, scope, *canonical));
    headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + scope +
                                              ", SignedHeaders=" + signed_headers +
                                              ", Signature=" + sig);
  }

  ManualClock clock_;
  std::unique_ptr<Verifier> verifier_;
};

constexpr char kGetVanillaSignature[] =
    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
constexpr char kBadSignature[] = "0000000000000000000000000000000000000000000000000000000000000000";
constexpr char kMismatch[] =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

TEST_F(SigV4Test, GetVanillaCanonicalRequestAndStringToSignMatchTheTestSuite) {
  Headers h = Vanilla(kGetVanillaSignature);
  auto canonical = CanonicalRequest(RequestView{"GET", "/", &h, ""}, "host;x-amz-date", kEmptyHash);
  ASSERT_TRUE(canonical.has_value());
  EXPECT_EQ(*canonical, std::string("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:"
                                    "20150830T123600Z\n\nhost;x-amz-date\n") +
                            kEmptyHash);
  EXPECT_EQ(StringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", *canonical),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
}

TEST_F(SigV4Test, GetVanillaVerifies) {
  auto v = Verify("GET", "/", Vanilla(kGetVanillaSignature));
  ASSERT_TRUE(std::holds_alternative<Identity>(v)) << ErrorOf(v).message;
  EXPECT_EQ(std::get<Identity>(v).key_id, "AKIDEXAMPLE");
  EXPECT_EQ(std::get<Identity>(v).principal_arn, "arn:aws:iam::000000000000:user/example");
}

TEST_F(SigV4Test, PostXWwwFormUrlencodedVerifies) {
  Headers h = {{"Content-Type", "application/x-www-form-urlencoded"},
               {"Host", "example.amazonaws.com"},
               {"X-Amz-Date", "20150830T123600Z"},
               {"Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date, "
                "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"}};
  auto v = Verify("POST", "/", h, "Param1=value1");
  EXPECT_TRUE(std::holds_alternative<Identity>(v)) << ErrorOf(v).message;
  // The same signature over another body does not verify.
  EXPECT_EQ(ErrorOf(Verify("POST", "/", h, "Param1=value2")).message, kMismatch);
}

TEST_F(SigV4Test, GetVanillaQueryOrderKeyCaseVerifies) {
  Headers h = Vanilla("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  auto v = Verify("GET", "/?Param2=value2&Param1=value1", h);
  EXPECT_TRUE(std::holds_alternative<Identity>(v)) << ErrorOf(v).message;
}

TEST_F(SigV4Test, CanonicalQuerySortsAndEncodes) {
  EXPECT_EQ(CanonicalQuery("b=2&a=1&a=0"), "a=0&a=1&b=2");
  EXPECT_EQ(CanonicalQuery("k=a%20b&x=%7E*"), "k=a%20b&x=~%2A");
  EXPECT_EQ(CanonicalQuery("X-Amz-Signature=abc&z=", "X-Amz-Signature"), "z=");
}

TEST_F(SigV4Test, WrongSignatureIsInvalidSignature) {
  AuthError e = ErrorOf(Verify("GET", "/", Vanilla(kBadSignature)));
  EXPECT_EQ(e.type, "InvalidSignatureException");
  EXPECT_EQ(e.message, kMismatch);
  EXPECT_EQ(e.http_status, 400);
}

TEST_F(SigV4Test, WrongSecretIsInvalidSignature) {
  Headers h = {{"Host", "h"}};
  SignWith(h, "{}", "not-the-secret", "host;x-amz-date");
  EXPECT_EQ(ErrorOf(Verify("POST", "/", h, "{}")).message, kMismatch);
  Headers good = {{"Host", "h"}};
  SignWith(good, "{}", kSecret, "host;x-amz-date");
  EXPECT_TRUE(std::holds_alternative<Identity>(Verify("POST", "/", good, "{}")));
}

TEST_F(SigV4Test, UnknownKeyIsUnrecognizedClient) {
  AuthError e = ErrorOf(
      Verify("GET", "/",
             Vanilla(kGetVanillaSignature, "AKIDUNKNOWN/20150830/us-east-1/service/aws4_request")));
  EXPECT_EQ(e.type, "UnrecognizedClientException");
  EXPECT_EQ(e.message, "The security token included in the request is invalid.");
}

TEST_F(SigV4Test, NoAuthenticationIsMissingAuthenticationToken) {
  AuthError e = ErrorOf(Verify("POST", "/", {{"Host", "h"}}));
  EXPECT_EQ(e.type, "MissingAuthenticationTokenException");
  EXPECT_EQ(e.message, "Missing Authentication Token");
}

TEST_F(SigV4Test, PartialHeaderIsIncompleteSignatureNamingEachMissingPart) {
  Headers h = {{"Host", "h"}, {"Authorization", "AWS4-HMAC-SHA256 Signature=abc"}};
  AuthError e = ErrorOf(Verify("POST", "/", h));
  EXPECT_EQ(e.type, "IncompleteSignatureException");
  EXPECT_EQ(e.message,
            "Authorization header requires 'Credential' parameter. Authorization header requires "
            "'SignedHeaders' parameter. Authorization header requires existence of either a "
            "'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Signature=abc");
}

TEST_F(SigV4Test, BothHeaderAndQueryAuthIsInvalidSignature) {
  AuthError e =
      ErrorOf(Verify("POST", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256", Vanilla(kGetVanillaSignature)));
  EXPECT_EQ(e.type, "InvalidSignatureException");
  EXPECT_EQ(e.message,
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP "
            "header.");
}

TEST_F(SigV4Test, OldDateIsSignatureExpiredAndFutureDateNotYetCurrent) {
  clock_.AdvanceMs(5 * 60 * 1000);  // exactly at the limit: still accepted
  EXPECT_TRUE(std::holds_alternative<Identity>(Verify("GET", "/", Vanilla(kGetVanillaSignature))));
  clock_.AdvanceMs(60 * 1000);
  AuthError e = ErrorOf(Verify("GET", "/", Vanilla(kGetVanillaSignature)));
  EXPECT_EQ(e.type, "InvalidSignatureException");
  EXPECT_EQ(e.message,
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z "
            "(20150830T124200Z - 5 min.)");
  clock_.SetMs(k20150830T123600Z - 6 * 60 * 1000);
  e = ErrorOf(Verify("GET", "/", Vanilla(kGetVanillaSignature)));
  EXPECT_EQ(e.message,
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z "
            "(20150830T123000Z + 5 min.)");
}

TEST_F(SigV4Test, CredentialScopeMustNameAConfiguredRegionAndTheService) {
  AuthError e = ErrorOf(
      Verify("GET", "/",
             Vanilla(kGetVanillaSignature, "AKIDEXAMPLE/20150830/eu-west-1/service/aws4_request")));
  EXPECT_EQ(e.type, "InvalidSignatureException");
  EXPECT_EQ(e.message, "Credential should be scoped to a valid region, not 'eu-west-1'. ");
  e = ErrorOf(
      Verify("GET", "/",
             Vanilla(kGetVanillaSignature, "AKIDEXAMPLE/20150830/us-east-1/kinesis/aws4_request")));
  EXPECT_EQ(e.message, "Credential should be scoped to correct service: 'service'. ");
  e = ErrorOf(Verify("GET", "/", Vanilla(kGetVanillaSignature, "AKIDEXAMPLE/20150830/us-east-1")));
  EXPECT_EQ(e.type, "IncompleteSignatureException");
}

TEST_F(SigV4Test, ContentSha256MustMatchTheBody) {
  Headers h = {{"Host", "h"}, {"X-Amz-Content-Sha256", Sha256Hex("other")}};
  SignWith(h, "{}", kSecret, "host;x-amz-content-sha256;x-amz-date");
  AuthError e = ErrorOf(Verify("POST", "/", h, "{}"));
  EXPECT_EQ(e.type, "InvalidSignatureException");
  EXPECT_EQ(e.message,
            "The provided 'x-amz-content-sha256' header does not match what was computed.");
  Headers ok = {{"Host", "h"}, {"X-Amz-Content-Sha256", Sha256Hex("{}")}};
  SignWith(ok, "{}", kSecret, "host;x-amz-content-sha256;x-amz-date");
  EXPECT_TRUE(std::holds_alternative<Identity>(Verify("POST", "/", ok, "{}")));
}

TEST_F(SigV4Test, TemporaryCredentialsNeedTheirToken) {
  Reset("session-token-1");
  Headers without = {{"Host", "h"}};
  SignWith(without, "{}", kSecret, "host;x-amz-date");
  EXPECT_EQ(ErrorOf(Verify("POST", "/", without, "{}")).type, "UnrecognizedClientException");
  Headers wrong = {{"Host", "h"}, {"X-Amz-Security-Token", "session-token-2"}};
  SignWith(wrong, "{}", kSecret, "host;x-amz-date;x-amz-security-token");
  EXPECT_EQ(ErrorOf(Verify("POST", "/", wrong, "{}")).type, "UnrecognizedClientException");
  Headers with = {{"Host", "h"}, {"X-Amz-Security-Token", "session-token-1"}};
  SignWith(with, "{}", kSecret, "host;x-amz-date;x-amz-security-token");
  EXPECT_TRUE(std::holds_alternative<Identity>(Verify("POST", "/", with, "{}")));
}

TEST_F(SigV4Test, LongTermKeyRefusesASessionToken) {
  Headers h = {{"Host", "h"}, {"X-Amz-Security-Token", "token"}};
  SignWith(h, "{}", kSecret, "host;x-amz-date;x-amz-security-token");
  EXPECT_EQ(ErrorOf(Verify("POST", "/", h, "{}")).type, "UnrecognizedClientException");
}

TEST_F(SigV4Test, SignedHeaderMissingFromTheRequestIsAMismatch) {
  Headers h = {{"Host", "h"}, {"X-Extra", "1"}};
  SignWith(h, "{}", kSecret, "host;x-amz-date;x-extra");
  h.erase(h.begin() + 1);
  EXPECT_EQ(ErrorOf(Verify("POST", "/", h, "{}")).message, kMismatch);
}

// botocore SigV4QueryAuth(expires=60) of POST https://example.amazonaws.com/ with Content-Type
// application/x-amz-json-1.1 and body {} (it signs the payload as UNSIGNED-PAYLOAD).
constexpr char kPresigned[] =
    "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2F"
    "service%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders="
    "content-type%3Bhost&X-Amz-Signature="
    "efd099bf3cc2ad33ea0ffee19122d48823e8a6fc8a62ae2dfc8407436f4c3df6";

TEST_F(SigV4Test, PresignedUrlVerifiesUntilItExpires) {
  Headers h = {{"Content-Type", "application/x-amz-json-1.1"}, {"Host", "example.amazonaws.com"}};
  EXPECT_TRUE(std::holds_alternative<Identity>(Verify("POST", kPresigned, h, "{}")));
  clock_.AdvanceMs(60 * 1000);
  EXPECT_TRUE(std::holds_alternative<Identity>(Verify("POST", kPresigned, h, "{}")));
  clock_.AdvanceMs(1000);
  AuthError e = ErrorOf(Verify("POST", kPresigned, h, "{}"));
  EXPECT_EQ(e.type, "InvalidSignatureException");
  EXPECT_EQ(e.message,
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
            "(20150830T123701Z - 60 sec.)");
}

TEST_F(SigV4Test, PresignedUrlWithAMissingParameterIsIncomplete) {
  Headers h = {{"Host", "example.amazonaws.com"}};
  AuthError e = ErrorOf(Verify("POST", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=x", h));
  EXPECT_EQ(e.type, "IncompleteSignatureException");
  EXPECT_EQ(e.message,
            "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string "
            "parameters must include 'X-Amz-Signature'. AWS query-string parameters must include "
            "'X-Amz-SignedHeaders'. Re-examine the query-string parameters.");
}

TEST_F(SigV4Test, Http2AuthorityPseudoHeaderIsSignedAsTheHostItArrivesAs) {
  // The SDK for JavaScript v3 over HTTP/2 lists ":authority" in SignedHeaders; the HTTP/2 front
  // end delivers it as the host header.
  Headers signer = {{":authority", "h:1"}};
  SignWith(signer, "{}", kSecret, ":authority;x-amz-date");
  Headers received = {{"host", "h:1"}, signer[1], signer[2]};
  EXPECT_TRUE(std::holds_alternative<Identity>(Verify("POST", "/", received, "{}")));
}

TEST_F(SigV4Test, RepeatedVerificationUsesTheCachedKeyAndStillRejectsBadSignatures) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(
        std::holds_alternative<Identity>(Verify("GET", "/", Vanilla(kGetVanillaSignature))));
    EXPECT_EQ(ErrorOf(Verify("GET", "/", Vanilla(kBadSignature))).message, kMismatch);
  }
}

}  // namespace
}  // namespace sluice::auth
