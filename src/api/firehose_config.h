// The mapping between Firehose's CreateDeliveryStream / DescribeDeliveryStream JSON and
// config::StreamConfig, in both directions, with the model's validation rules.
//
// Conventions (also in src/api/README.md):
//   - BucketARN "arn:aws:s3:::<bucket>" <-> ObjectDestination.url "bucket://<bucket>"; server/
//     resolves bucket names to real stores. Other URLs (file://, s3://) describe as the ARN of
//     their last path component or bucket.
//   - ProcessingConfiguration.Processors[i] <-> ProcessorSpec: Type selects the processor's typed
//     parameters, parsed from the Parameters {ParameterName, ParameterValue} (strings) by
//     transform::ParseProcessorSpec; Describe writes back the parameters that were given, in
//     their order. Decompression and CloudWatchLogProcessing are refused (not implemented).
//   - S3BackupMode Enabled + S3BackupConfiguration <-> StreamConfig.raw.
//   - DynamicPartitioningConfiguration.RetryOptions.DurationInSeconds <-> retry_duration_s.
//   - StreamConfig has no field for RoleARN, DirectPut ThroughputHintInMBs, backup buffering or
//     compression: they are validated and dropped, and Describe reports RoleARN as
//     "arn:aws:iam::<account>:role/sluice".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/backend.h"
#include "api/errors.h"
#include "common/json_writer.h"
#include "config/stream_config.h"

namespace sluice::api {

inline constexpr std::string_view kDestinationId = "destinationId-000000000001";

// Adds AWS's violations for a DeliveryStreamName (pattern [a-zA-Z0-9_.-]+, length 1..64) at
// `path`; `name` nullopt adds "Member must not be null" when `required`.
void ValidateStreamName(std::optional<std::string_view> name, std::string_view path, bool required,
                        ValidationErrors& errors);

// Parses and validates a CreateDeliveryStream request body into the stream's configuration (its
// state — version, creation time — is the Backend's). Errors: SerializationException (bad JSON or
// types), ValidationException (model constraints), InvalidArgumentException (rules across
// members, or features Sluice does not support).
ApiResult<config::StreamConfig> ParseCreateDeliveryStream(std::string_view body);

// The members of an UpdateDestination request that name what is updated.
struct UpdateDestinationInput {
  std::string name;
  uint64_t current_version = 0;  // CurrentDeliveryStreamVersionId
  std::string destination_id;
};
// Parses and validates DeliveryStreamName, CurrentDeliveryStreamVersionId and DestinationId.
ApiResult<UpdateDestinationInput> ParseUpdateDestination(std::string_view body);
// Merges the request's ExtendedS3DestinationUpdate (or S3DestinationUpdate) into `current`, as
// Firehose does for an update of the same destination type: members given replace the current
// ones, members absent keep theirs. Same errors as ParseCreateDeliveryStream.
ApiResult<config::StreamConfig> ApplyDestinationUpdate(std::string_view body,
                                                       config::StreamConfig current);

// Writes the DeliveryStreamDescription object (the value, not the key) for `info`.
// The DeliveryStreamStatus wire value ("ACTIVE", ...).
std::string_view DeliveryStreamStatusName(DeliveryStreamStatus status);
void WriteDeliveryStreamDescription(const StreamInfo& info, json::Writer& w);

// "arn:aws:s3:::b" -> "bucket://b"; nullopt when `arn` is not an S3 bucket ARN.
std::optional<std::string> BucketUrlFromArn(std::string_view arn);
// The inverse, for Describe (see the conventions above).
std::string BucketArnFromUrl(std::string_view url);

}  // namespace sluice::api
