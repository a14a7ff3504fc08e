// Lambda: an external processor over HTTP speaking the Firehose data-transformation contract.
//
// Parameters (LambdaParams; Firehose ProcessorParameter names; values may be strings):
//   LambdaArn                an http(s) URL: a plain endpoint, or an AWS Lambda Invoke URL
//                            ending in /2015-03-31/functions/{name}/invocations (unsigned; a
//                            Function URL or a Lambda emulator). Alias: url.
//   NumberOfRetries          0..300, default 3: retries of a failed invocation.
//   BufferSizeInMBs          0.2..3, default 1: the most record data per invocation.
//   BufferIntervalInSeconds  0..900, default 60: reported to the batcher.
//   RoleArn                  accepted and ignored.
//   TimeoutMs                (Sluice) per-invocation timeout, default 300000 (Lambda's 5 min).
//
// Each invocation POSTs {"invocationId","deliveryStreamArn","region","records":[{"recordId",
// "approximateArrivalTimestamp"(ms),"data"(base64)}]} (at most BufferSizeInMBs of data and a
// 6 MB request) and expects {"records":[{"recordId","result","data","metadata":
// {"partitionKeys":{...}}}]}. An invocation fails as a whole — and is retried — on a transport
// error (Lambda.Timeout, Lambda.ConnectionFailed), an HTTP error (429 Lambda.InvokeLimitExceeded,
// 403 Lambda.InvokeAccessDenied, 404 Lambda.ResourceNotFound, other Lambda.ServiceException),
// an X-Amz-Function-Error header (Lambda.FunctionError), or a response that breaks the contract:
// unparseable or badly shaped (Lambda.JsonProcessingException), a duplicated recordId
// (Lambda.DuplicatedRecordId), a missing or unknown recordId (Lambda.MissingRecordId). After the
// last attempt every record of the invocation is ProcessingFailed with that code. A record the
// function marks ProcessingFailed fails with Lambda.ProcessingFailed; one over the 6 MB payload
// alone fails with Lambda.PayloadTooLarge. invocationId is derived from the record ids, so a
// redelivered batch sends identical requests.
#pragma once

#include <cstdint>
#include <memory>

#include "common/status.h"
#include "transform/pipeline.h"
#include "transform/processor_params.h"
#include "transform/stage.h"

namespace sluice::transform {

constexpr size_t kLambdaPayloadLimit = 6 * 1024 * 1024;  // Lambda's synchronous 6 MB

// `params` are validated (ParseProcessorSpec); the stream ARN and region come from `options`.
Result<std::unique_ptr<Stage>> MakeLambdaStage(const LambdaParams& params,
                                               const ChainOptions& options);

}  // namespace sluice::transform
