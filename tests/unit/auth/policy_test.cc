#include "auth/policy.h"

#include <gtest/gtest.h>

#include "auth/authorize.h"

namespace sluice::auth {
namespace {

constexpr char kOrders[] = "arn:aws:kinesis:us-east-1:000000000000:stream/orders";
constexpr char kClicks[] = "arn:aws:kinesis:us-east-1:000000000000:stream/clicks";
constexpr char kFhOrders[] = "arn:aws:firehose:us-east-1:000000000000:deliverystream/orders";

Statement Allow(std::vector<std::string> actions, std::vector<std::string> resources) {
  return {true, std::move(actions), std::move(resources)};
}
Statement Deny(std::vector<std::string> actions, std::vector<std::string> resources) {
  return {false, std::move(actions), std::move(resources)};
}

TEST(WildcardMatch, StarMatchesAnyRunAndQuestionMarkOneCharacter) {
  EXPECT_TRUE(WildcardMatch("firehose:PutRecord*", "firehose:PutRecordBatch", true));
  EXPECT_TRUE(WildcardMatch("firehose:PutRecord*", "firehose:PutRecord", true));
  EXPECT_FALSE(WildcardMatch("firehose:PutRecord*", "firehose:DeleteDeliveryStream", true));
  EXPECT_TRUE(WildcardMatch("kinesis:Get?ecords", "kinesis:GetRecords", true));
  EXPECT_FALSE(WildcardMatch("kinesis:Get?ecords", "kinesis:GetXXecords", true));
  EXPECT_TRUE(WildcardMatch("*", "", false));
  EXPECT_TRUE(WildcardMatch("a*b*c", "aXXbYYc", false));
  EXPECT_FALSE(WildcardMatch("a*b*c", "aXXbYY", false));
}

TEST(WildcardMatch, ActionsIgnoreCaseResourcesDoNot) {
  EXPECT_TRUE(WildcardMatch("KINESIS:getrecords", "kinesis:GetRecords", true));
  EXPECT_FALSE(WildcardMatch("arn:aws:kinesis:*:stream/Orders", kOrders, false));
}

TEST(Evaluate, DefaultIsDeny) {
  EXPECT_EQ(Evaluate(Policy{}, "kinesis:PutRecords", kOrders), Decision::kImplicitDeny);
  Policy p{{Allow({"kinesis:Get*"}, {kOrders})}};
  EXPECT_EQ(Evaluate(p, "kinesis:PutRecords", kOrders), Decision::kImplicitDeny);
  EXPECT_EQ(Evaluate(p, "kinesis:GetRecords", kClicks), Decision::kImplicitDeny);
}

TEST(Evaluate, AllowNeedsBothActionAndResource) {
  Policy p{{Allow({"kinesis:PutRecord", "kinesis:PutRecords"},
                  {"arn:aws:kinesis:us-east-1:000000000000:stream/ord*"})}};
  EXPECT_EQ(Evaluate(p, "kinesis:PutRecords", kOrders), Decision::kAllow);
  EXPECT_EQ(Evaluate(p, "kinesis:PutRecords", kClicks), Decision::kImplicitDeny);
  EXPECT_EQ(Evaluate(p, "kinesis:DeleteStream", kOrders), Decision::kImplicitDeny);
}

TEST(Evaluate, ExplicitDenyOverridesAllowInAnyOrder) {
  Policy deny_last{{Allow({"*"}, {"*"}), Deny({"kinesis:Delete*"}, {kOrders})}};
  Policy deny_first{{Deny({"kinesis:Delete*"}, {kOrders}), Allow({"*"}, {"*"})}};
  for (const Policy* p : {&deny_last, &deny_first}) {
    EXPECT_EQ(Evaluate(*p, "kinesis:DeleteStream", kOrders), Decision::kExplicitDeny);
    EXPECT_EQ(Evaluate(*p, "kinesis:DeleteStream", kClicks), Decision::kAllow);
    EXPECT_EQ(Evaluate(*p, "firehose:PutRecordBatch", kFhOrders), Decision::kAllow);
  }
}

TEST(Evaluate, ResourceStarMatchesCallsNamingNoStream) {
  Policy p{{Allow({"kinesis:ListStreams"}, {"*"})}};
  EXPECT_EQ(Evaluate(p, "kinesis:ListStreams", "*"), Decision::kAllow);
  Policy scoped{{Allow({"kinesis:ListStreams"}, {"arn:aws:kinesis:*:stream/*"})}};
  EXPECT_EQ(Evaluate(scoped, "kinesis:ListStreams", "*"), Decision::kImplicitDeny);
}

TEST(Authorize, DeniedCallsGetIamWording) {
  Identity id{"AKIDEXAMPLE", "arn:aws:iam::000000000000:user/producer",
              std::make_shared<const Policy>(Policy{{Allow({"kinesis:PutRecord*"}, {kOrders}),
                                                     Deny({"kinesis:PutRecords"}, {kClicks})}})};
  EXPECT_FALSE(Authorize(&id, "kinesis:PutRecords", kOrders).has_value());
  auto implicit = Authorize(&id, "kinesis:GetRecords", kOrders);
  ASSERT_TRUE(implicit.has_value());
  EXPECT_EQ(implicit->type, "AccessDeniedException");
  EXPECT_EQ(implicit->http_status, 400);
  EXPECT_EQ(implicit->message,
            "User: arn:aws:iam::000000000000:user/producer is not authorized to perform: "
            "kinesis:GetRecords on resource: arn:aws:kinesis:us-east-1:000000000000:stream/orders "
            "because no identity-based policy allows the kinesis:GetRecords action");
  auto explicit_deny = Authorize(&id, "kinesis:PutRecords", kClicks);
  ASSERT_TRUE(explicit_deny.has_value());
  EXPECT_EQ(explicit_deny->message,
            "User: arn:aws:iam::000000000000:user/producer is not authorized to perform: "
            "kinesis:PutRecords on resource: arn:aws:kinesis:us-east-1:000000000000:stream/clicks "
            "with an explicit deny in an identity-based policy");
}

TEST(Authorize, NoIdentityMeansAnonymousAndAllowed) {
  EXPECT_FALSE(Authorize(nullptr, "kinesis:DeleteStream", kOrders).has_value());
}

TEST(IsControlPlane, ChangesAreControlPlaneReadsAndWritesOfRecordsAreNot) {
  for (auto op : {"CreateStream", "DeleteDeliveryStream", "UpdateDestination", "TagDeliveryStream",
                  "AddTagsToStream", "RegisterStreamConsumer", "DeregisterStreamConsumer",
                  "SplitShard", "IncreaseStreamRetentionPeriod", "StartStreamEncryption"}) {
    EXPECT_TRUE(IsControlPlane(op)) << op;
  }
  for (auto op : {"PutRecords", "PutRecordBatch", "GetRecords", "DescribeStream", "ListShards"}) {
    EXPECT_FALSE(IsControlPlane(op)) << op;
  }
}

}  // namespace
}  // namespace sluice::auth
