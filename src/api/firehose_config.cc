#include "api/firehose_config.h"

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <vector>

#include "api/json_input.h"
#include "compress/compress.h"
#include "config/config.h"

namespace sluice::api {
namespace {

using simdjson::dom::object;

constexpr std::array<std::string_view, 4> kStreamTypes = {"DirectPut", "KinesisStreamAsSource",
                                                          "MSKAsSource", "DatabaseAsSource"};
constexpr std::array<std::string_view, 5> kCompressionFormats = {"UNCOMPRESSED", "GZIP", "ZIP",
                                                                 "Snappy", "HADOOP_SNAPPY"};
constexpr std::array<std::string_view, 2> kBackupModes = {"Disabled", "Enabled"};
constexpr std::array<std::string_view, 6> kProcessorTypes = {
    "RecordDeAggregation", "Decompression",          "CloudWatchLogProcessing", "Lambda",
    "MetadataExtraction",  "AppendDelimiterToRecord"};
constexpr std::array<std::string_view, 11> kParameterNames = {
    "LambdaArn", "NumberOfRetries",   "MetadataExtractionQuery", "JsonParsingEngine",
    "RoleArn",   "BufferSizeInMBs",   "BufferIntervalInSeconds", "SubRecordType",
    "Delimiter", "CompressionFormat", "DataMessageExtraction"};
// Destination configurations Sluice does not implement.
constexpr std::array<std::string_view, 8> kOtherDestinations = {
    "RedshiftDestinationConfiguration",
    "ElasticsearchDestinationConfiguration",
    "AmazonopensearchserviceDestinationConfiguration",
    "AmazonOpenSearchServerlessDestinationConfiguration",
    "SplunkDestinationConfiguration",
    "HttpEndpointDestinationConfiguration",
    "SnowflakeDestinationConfiguration",
    "IcebergDestinationConfiguration"};

std::string LowerFirst(std::string_view s) {
  std::string out(s);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') out[0] = static_cast<char>(out[0] + 32);
  return out;
}

std::string Path(std::string_view parent, std::string_view member) {
  std::string out(parent);
  if (!out.empty()) out += '.';
  out += LowerFirst(member);
  return out;
}

template <size_t N>
std::string EnumSet(const std::array<std::string_view, N>& values) {
  std::string out = "Member must satisfy enum value set: [";
  for (size_t i = 0; i < N; ++i) {
    if (i > 0) out += ", ";
    out += values[i];
  }
  out += ']';
  return out;
}

template <size_t N>
bool InSet(const std::array<std::string_view, N>& values, std::string_view v) {
  for (auto x : values) {
    if (x == v) return true;
  }
  return false;
}

// Validations of one request: a JsonReader for types plus the collected constraint violations.
struct Checker {
  JsonReader reader;
  ValidationErrors errors;

  void Required(bool present, std::string_view path) {
    if (!present) errors.Add(std::nullopt, path, "Member must not be null");
  }
  void Length(std::string_view v, std::string_view path, size_t min, size_t max) {
    if (v.size() < min) {
      errors.Add(v, path,
                 "Member must have length greater than or equal to " + std::to_string(min));
    }
    if (v.size() > max) {
      errors.Add(v, path, "Member must have length less than or equal to " + std::to_string(max));
    }
  }
  void Range(int64_t v, std::string_view path, int64_t min, int64_t max) {
    std::string text = std::to_string(v);
    if (v < min) {
      errors.Add(text, path,
                 "Member must have value greater than or equal to " + std::to_string(min));
    }
    if (v > max) {
      errors.Add(text, path, "Member must have value less than or equal to " + std::to_string(max));
    }
  }
  template <size_t N>
  void Enum(std::string_view v, std::string_view path, const std::array<std::string_view, N>& set) {
    if (!InSet(set, v)) errors.Add(v, path, EnumSet(set));
  }
  // A string member with a length range; returns it when present.
  std::optional<std::string_view> Str(object o, std::string_view parent, std::string_view key,
                                      bool required, size_t min, size_t max) {
    auto v = reader.String(o, key);
    std::string path = Path(parent, key);
    if (reader.failed()) return std::nullopt;
    if (!v) {
      if (required) Required(false, path);
      return std::nullopt;
    }
    Length(*v, path, min, max);
    return v;
  }
  std::optional<int64_t> Int(object o, std::string_view parent, std::string_view key, bool required,
                             int64_t min, int64_t max) {
    auto v = reader.Integer(o, key);
    std::string path = Path(parent, key);
    if (reader.failed()) return std::nullopt;
    if (!v) {
      if (required) Required(false, path);
      return std::nullopt;
    }
    Range(*v, path, min, max);
    return v;
  }
};

bool MatchesStreamNamePattern(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsBucketChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

// FileExtension pattern: ^$|\.[0-9a-z!\-_.*'()]+
bool MatchesFileExtension(std::string_view ext) {
  if (ext.empty()) return true;
  if (ext[0] != '.' || ext.size() < 2) return false;
  for (char c : ext.substr(1)) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '!' || c == '-' ||
              c == '_' || c == '.' || c == '*' || c == '\'' || c == '(' || c == ')';
    if (!ok) return false;
  }
  return true;
}

// The fields S3DestinationConfiguration and ExtendedS3DestinationConfiguration share.
struct S3Fields {
  std::optional<std::string> bucket_url;
  std::optional<std::string_view> role_arn;
  std::optional<std::string_view> prefix;
  std::optional<std::string_view> error_output_prefix;
  std::optional<config::Buffering> buffering;
  std::optional<std::string_view> compression;
};

// Parses the common S3 fields of `o` at `path`. Cross-member rule violations go to `invalid`.
// `required`: RoleARN and BucketARN must be given (a configuration, not an update).
S3Fields ParseS3Fields(Checker& c, object o, const std::string& path, std::string& invalid,
                       bool required) {
  S3Fields f;
  f.role_arn = c.Str(o, path, "RoleARN", required, 1, 512);
  if (auto arn = c.Str(o, path, "BucketARN", required, 1, 2048)) {
    f.bucket_url = BucketUrlFromArn(*arn);
    if (!f.bucket_url) {
      c.errors.Add(
          *arn, Path(path, "BucketARN"),
          "Member must satisfy regular expression pattern: arn:.*:s3:::[\\w\\.\\-]{1,255}");
    } else if (Status st = config::ValidateBucketName(f.bucket_url->substr(9)); !st.ok()) {
      // The pattern admits names S3 refuses ("..", upper case, IP addresses): S3's naming rules
      // apply, since the bucket becomes a directory under <data_dir>/buckets.
      c.errors.Add(*arn, Path(path, "BucketARN"),
                   "Member must name a valid S3 bucket: " + st.message());
      f.bucket_url.reset();
    }
  }
  f.prefix = c.Str(o, path, "Prefix", false, 0, 1024);
  f.error_output_prefix = c.Str(o, path, "ErrorOutputPrefix", false, 0, 1024);
  if (auto hints = c.reader.Struct(o, "BufferingHints")) {
    std::string hpath = Path(path, "BufferingHints");
    auto size = c.Int(*hints, hpath, "SizeInMBs", false, config::Buffering::kMinSizeMb,
                      config::Buffering::kMaxSizeMb);
    auto interval =
        c.Int(*hints, hpath, "IntervalInSeconds", false, 0, config::Buffering::kMaxIntervalS);
    if (size.has_value() != interval.has_value()) {
      if (invalid.empty()) {
        invalid = "BufferingHints must specify both SizeInMBs and IntervalInSeconds, or neither.";
      }
    } else if (size) {
      config::Buffering b;
      b.size_mb = static_cast<uint32_t>(*size);
      b.interval_s = static_cast<uint32_t>(*interval);
      f.buffering = b;
    }
  }
  if (auto comp = c.reader.String(o, "CompressionFormat")) {
    c.Enum(*comp, Path(path, "CompressionFormat"), kCompressionFormats);
    f.compression = comp;
  }
  if (auto enc = c.reader.Struct(o, "EncryptionConfiguration")) {
    std::string epath = Path(path, "EncryptionConfiguration");
    if (auto none = c.reader.String(*enc, "NoEncryptionConfig")) {
      std::array<std::string_view, 1> values = {"NoEncryption"};
      c.Enum(*none, Path(epath, "NoEncryptionConfig"), values);
    }
    if (c.reader.Struct(*enc, "KMSEncryptionConfig") && invalid.empty()) {
      invalid = "KMSEncryptionConfig is not supported by Sluice; use NoEncryptionConfig.";
    }
  }
  return f;
}

// Maps ProcessingConfiguration onto typed processors: each processor's Parameters list of
// {ParameterName, ParameterValue} (all strings) is parsed by the transform module's parameter
// tables, as the config file's are. Model violations are validation errors; a parameter the
// processor does not take or a bad value is `invalid` (InvalidArgumentException).
void ParseProcessing(Checker& c, object o, const std::string& path, config::StreamConfig& cfg,
                     std::string& invalid) {
  auto enabled = c.reader.Boolean(o, "Enabled");
  auto processors = c.reader.List(o, "Processors");
  if (!processors) return;
  std::vector<config::ProcessorSpec> specs;
  size_t i = 0;
  for (auto item : *processors) {
    ++i;
    std::string ppath = Path(path, "Processors") + "." + std::to_string(i) + ".member";
    auto p = c.reader.StructValue(item);
    if (!p) {
      if (!c.reader.failed()) c.Required(false, ppath);
      continue;
    }
    std::optional<std::string_view> type = c.reader.String(*p, "Type");
    if (type) {
      c.Enum(*type, Path(ppath, "Type"), kProcessorTypes);
    } else if (!c.reader.failed()) {
      c.Required(false, Path(ppath, "Type"));
    }
    transform::ParamValue params = transform::ParamValue::Map();
    if (auto list = c.reader.List(*p, "Parameters")) {
      size_t j = 0;
      for (auto param_item : *list) {
        ++j;
        std::string qpath = Path(ppath, "Parameters") + "." + std::to_string(j) + ".member";
        auto param = c.reader.StructValue(param_item);
        if (!param) continue;
        auto name = c.reader.String(*param, "ParameterName");
        if (name) {
          c.Enum(*name, Path(qpath, "ParameterName"), kParameterNames);
        } else if (!c.reader.failed()) {
          c.Required(false, Path(qpath, "ParameterName"));
        }
        auto value = c.Str(*param, qpath, "ParameterValue", true, 1, 5120);
        if (name && value) {
          params.Add(std::string(*name), transform::ParamValue::String(std::string(*value)));
        }
      }
    }
    // Processors of a disabled configuration do not run and are not kept: not parsed either.
    if (!enabled.value_or(true) || !type || c.reader.failed() || !c.errors.empty()) continue;
    if (*type == "Decompression" || *type == "CloudWatchLogProcessing") {
      if (invalid.empty()) {
        invalid = "Processor type " + std::string(*type) + " is not supported by Sluice.";
      }
      continue;
    }
    auto spec =
        transform::ParseProcessorSpec(*type, params, ppath + " (" + std::string(*type) + ")");
    if (!spec.ok()) {
      if (invalid.empty()) invalid = spec.status().message();
      continue;
    }
    specs.push_back(std::move(spec).value());
  }
  // Sluice keeps only the processors that run (an update that disables processing removes them).
  if (enabled.value_or(true)) {
    cfg.processors = std::move(specs);
  } else {
    cfg.processors.clear();
  }
}

// Applies the members of an S3 destination configuration (`required`) or update (members absent
// keep their current value, as UpdateDestination merges) at `dpath` onto `cfg`. `extended`: the
// ExtendedS3 shape (processing, backup, dynamic partitioning, file extension, time zone).
void ApplyS3Destination(Checker& c, object dest, const std::string& dpath, bool extended,
                        bool required, config::StreamConfig& cfg, std::string& invalid) {
  {
    S3Fields f = ParseS3Fields(c, dest, dpath, invalid, required);
    if (f.bucket_url) cfg.staged.url = *f.bucket_url;
    if (f.role_arn) cfg.role_arn = std::string(*f.role_arn);
    if (f.prefix) cfg.staged.prefix = std::string(*f.prefix);
    if (f.error_output_prefix) cfg.error_output_prefix = std::string(*f.error_output_prefix);
    if (f.buffering) cfg.buffering = *f.buffering;
    if (f.compression) {
      // An unknown name is already a validation error (c.Enum); only known ones map.
      if (auto format = compress::ParseFormat(*f.compression); format.ok()) {
        cfg.compression = *format;
      }
    }
  }
  if (extended) {
    if (auto processing = c.reader.Struct(dest, "ProcessingConfiguration")) {
      ParseProcessing(c, *processing, Path(dpath, "ProcessingConfiguration"), cfg, invalid);
    }
    auto mode = c.reader.String(dest, "S3BackupMode");
    if (mode) c.Enum(*mode, Path(dpath, "S3BackupMode"), kBackupModes);
    const char* backup_member = required ? "S3BackupConfiguration" : "S3BackupUpdate";
    auto backup = c.reader.Struct(dest, backup_member);
    if (backup) {
      std::string bpath = Path(dpath, backup_member);
      S3Fields b = ParseS3Fields(c, *backup, bpath, invalid, required);
      if (mode ? *mode == "Enabled" : !cfg.raw.empty()) {
        if (b.bucket_url) cfg.raw.url = *b.bucket_url;
        if (b.prefix) cfg.raw.prefix = std::string(*b.prefix);
      }
    }
    if (mode && *mode == "Enabled" && !backup && cfg.raw.empty() && invalid.empty() &&
        !c.reader.failed()) {
      invalid = std::string(backup_member) + " is required when S3BackupMode is Enabled.";
    }
    if (mode && *mode == "Disabled" && !cfg.raw.empty() && !required && invalid.empty()) {
      invalid = "S3BackupMode cannot be disabled once it is enabled.";
    }
    if (auto dyn = c.reader.Struct(dest, "DynamicPartitioningConfiguration")) {
      std::string ypath = Path(dpath, "DynamicPartitioningConfiguration");
      auto enabled = c.reader.Boolean(*dyn, "Enabled");
      if (auto retry = c.reader.Struct(*dyn, "RetryOptions")) {
        if (auto d =
                c.Int(*retry, Path(ypath, "RetryOptions"), "DurationInSeconds", false, 0, 7200)) {
          if (*d >= 0 && *d <= 7200) cfg.retry_duration_s = static_cast<uint32_t>(*d);
        }
      }
      if (enabled.value_or(false) && cfg.error_output_prefix.empty() && invalid.empty() &&
          !c.reader.failed()) {
        invalid = "ErrorOutputPrefix is required when DynamicPartitioningConfiguration is enabled.";
      }
    }
    if (auto conv = c.reader.Struct(dest, "DataFormatConversionConfiguration")) {
      if (c.reader.Boolean(*conv, "Enabled").value_or(true) && invalid.empty()) {
        invalid = "DataFormatConversionConfiguration is not supported by Sluice.";
      }
    }
    if (auto ext = c.Str(dest, dpath, "FileExtension", false, 0, 128)) {
      if (!MatchesFileExtension(*ext)) {
        c.errors.Add(*ext, Path(dpath, "FileExtension"),
                     "Member must satisfy regular expression pattern: ^$|\\.[0-9a-z!\\-_.*'()]+");
      }
      cfg.file_extension = std::string(*ext);
    }
    if (auto tz = c.Str(dest, dpath, "CustomTimeZone", false, 0, 50)) {
      if (!tz->empty()) cfg.custom_time_zone = std::string(*tz);
    }
  }
}

void WriteBuffering(json::Writer& w, const config::Buffering& b) {
  w.Key("BufferingHints");
  w.BeginObject();
  w.Key("SizeInMBs");
  w.Uint(b.size_mb);
  w.Key("IntervalInSeconds");
  w.Uint(b.interval_s);
  w.EndObject();
}

void WriteNoEncryption(json::Writer& w) {
  w.Key("EncryptionConfiguration");
  w.BeginObject();
  w.Key("NoEncryptionConfig");
  w.String("NoEncryption");
  w.EndObject();
}

// The "arn:...:<account>:..." account of a stream ARN, or the default account.
std::string AccountOf(std::string_view arn) {
  // arn:aws:firehose:<region>:<account>:deliverystream/<name>
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    pos = arn.find(':', pos);
    if (pos == std::string_view::npos) return "000000000000";
    ++pos;
  }
  size_t end = arn.find(':', pos);
  if (end == std::string_view::npos) return "000000000000";
  return std::string(arn.substr(pos, end - pos));
}

// The fields S3DestinationDescription and ExtendedS3DestinationDescription share.
void WriteS3Common(json::Writer& w, const config::StreamConfig& cfg, const std::string& role) {
  w.Key("RoleARN");
  w.String(role);
  w.Key("BucketARN");
  w.String(BucketArnFromUrl(cfg.staged.url));
  if (!cfg.staged.prefix.empty()) {
    w.Key("Prefix");
    w.String(cfg.staged.prefix);
  }
  if (!cfg.error_output_prefix.empty()) {
    w.Key("ErrorOutputPrefix");
    w.String(cfg.error_output_prefix);
  }
  WriteBuffering(w, cfg.buffering);
  w.Key("CompressionFormat");
  w.String(compress::FormatName(cfg.compression));
  WriteNoEncryption(w);
}

void WriteProcessors(json::Writer& w, const std::vector<config::ProcessorSpec>& processors) {
  w.Key("ProcessingConfiguration");
  w.BeginObject();
  w.Key("Enabled");
  w.Bool(!processors.empty());
  w.Key("Processors");
  w.BeginArray();
  for (const auto& p : processors) {
    w.BeginObject();
    w.Key("Type");
    w.String(p.type());
    w.Key("Parameters");
    w.BeginArray();
    for (const auto& [name, value] : transform::ProcessorSpecParams(p).fields) {
      w.BeginObject();
      w.Key("ParameterName");
      w.String(name);
      w.Key("ParameterValue");
      const bool scalar = value.kind != transform::ParamValue::Kind::kList &&
                          value.kind != transform::ParamValue::Kind::kMap;
      w.String(scalar ? value.text : value.ToJson());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

bool HasPartitionKeys(std::string_view prefix) {
  return prefix.find("!{partitionKeyFrom") != std::string_view::npos;
}

}  // namespace

void ValidateStreamName(std::optional<std::string_view> name, std::string_view path, bool required,
                        ValidationErrors& errors) {
  if (!name) {
    if (required) errors.Add(std::nullopt, path, "Member must not be null");
    return;
  }
  if (!MatchesStreamNamePattern(*name)) {
    errors.Add(*name, path, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
  } else if (config::IsReservedStreamName(*name)) {
    errors.Add(*name, path,
               "Member must not be '.' or '..': these names are reserved (they name directories)");
  }
  if (name->empty()) errors.Add(*name, path, "Member must have length greater than or equal to 1");
  if (name->size() > 64) {
    errors.Add(*name, path, "Member must have length less than or equal to 64");
  }
}

std::optional<std::string> BucketUrlFromArn(std::string_view arn) {
  if (arn.substr(0, 4) != "arn:") return std::nullopt;
  size_t pos = arn.find(":s3:::");
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view bucket = arn.substr(pos + 6);
  if (bucket.empty() || bucket.size() > 255) return std::nullopt;
  for (char ch : bucket) {
    if (!IsBucketChar(ch)) return std::nullopt;
  }
  return "bucket://" + std::string(bucket);
}

std::string BucketArnFromUrl(std::string_view url) {
  std::string_view rest = url;
  if (size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    std::string_view kind = url.substr(0, scheme);
    rest = url.substr(scheme + 3);
    if (kind == "bucket" || kind == "s3") rest = rest.substr(0, rest.find('/'));
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (size_t slash = rest.rfind('/'); slash != std::string_view::npos)
    rest = rest.substr(slash + 1);
  std::string bucket;
  for (char ch : rest) bucket += IsBucketChar(ch) ? ch : '-';
  return "arn:aws:s3:::" + bucket;
}

ApiResult<config::StreamConfig> ParseCreateDeliveryStream(std::string_view body) {
  auto root = ParseBody(body);
  if (!root.ok()) return root.error();
  object o = root.value();
  Checker c;
  std::string invalid;  // the first InvalidArgumentException message
  config::StreamConfig cfg;

  auto name = c.reader.String(o, "DeliveryStreamName");
  if (!c.reader.failed()) ValidateStreamName(name, "deliveryStreamName", true, c.errors);
  if (name) cfg.name = std::string(*name);

  if (auto type = c.reader.String(o, "DeliveryStreamType")) {
    c.Enum(*type, "deliveryStreamType", kStreamTypes);
    if (*type == "KinesisStreamAsSource") {
      cfg.type = config::SourceType::kKinesisStreamAsSource;
    } else if (InSet(kStreamTypes, *type) && *type != "DirectPut" && invalid.empty()) {
      invalid = "DeliveryStreamType " + std::string(*type) +
                " is not supported by the Firehose API of Sluice; configure the source in the "
                "config file.";
    }
  }
  if (auto kinesis = c.reader.Struct(o, "KinesisStreamSourceConfiguration")) {
    auto arn =
        c.Str(*kinesis, "kinesisStreamSourceConfiguration", "KinesisStreamARN", true, 1, 512);
    c.Str(*kinesis, "kinesisStreamSourceConfiguration", "RoleARN", true, 1, 512);
    // arn:aws:kinesis:<region>:<account>:stream/<name>
    if (arn) {
      const std::string_view a = *arn;
      const size_t marker = a.find(":stream/");
      const std::string name =
          marker == std::string_view::npos ? "" : std::string(a.substr(marker + 8));
      if (a.substr(0, 16) != "arn:aws:kinesis:" || !config::IsValidKinesisStreamName(name)) {
        if (invalid.empty()) {
          invalid = "KinesisStreamARN " + std::string(a) +
                    " is not a Kinesis stream ARN (arn:aws:kinesis:<region>:<account>:stream/"
                    "<name>).";
        }
      } else {
        cfg.source_stream = name;
      }
    }
    if (cfg.type != config::SourceType::kKinesisStreamAsSource && invalid.empty()) {
      invalid =
          "KinesisStreamSourceConfiguration is only valid with DeliveryStreamType "
          "KinesisStreamAsSource.";
    }
  } else if (cfg.type == config::SourceType::kKinesisStreamAsSource && invalid.empty()) {
    invalid =
        "KinesisStreamSourceConfiguration is required for DeliveryStreamType "
        "KinesisStreamAsSource.";
  }
  if (auto direct = c.reader.Struct(o, "DirectPutSourceConfiguration")) {
    c.Int(*direct, "directPutSourceConfiguration", "ThroughputHintInMBs", true, 1, 100);
  }
  if (auto tags = c.reader.List(o, "Tags")) {
    size_t n = 0;
    for (auto item : *tags) {
      ++n;
      std::string tpath = "tags." + std::to_string(n) + ".member";
      auto tag = c.reader.StructValue(item);
      if (!tag) continue;
      auto key = c.Str(*tag, tpath, "Key", true, 1, 128);
      auto value = c.Str(*tag, tpath, "Value", false, 0, 256);
      if (key) cfg.tags[std::string(*key)] = std::string(value.value_or(""));
    }
    if (n < 1) c.errors.Add("[]", "tags", "Member must have length greater than or equal to 1");
    if (n > 50) {
      c.errors.Add("[...]", "tags", "Member must have length less than or equal to 50");
    }
  }

  auto extended = c.reader.Struct(o, "ExtendedS3DestinationConfiguration");
  auto plain = c.reader.Struct(o, "S3DestinationConfiguration");
  for (auto other : kOtherDestinations) {
    simdjson::dom::element ignored;
    if (o.at_key(other).get(ignored) == simdjson::SUCCESS && !ignored.is_null() &&
        invalid.empty()) {
      invalid = std::string(other) + " is not supported by Sluice; use " +
                "ExtendedS3DestinationConfiguration.";
    }
  }
  if (extended && plain && invalid.empty()) {
    invalid =
        "Exactly one destination configuration is allowed; both "
        "ExtendedS3DestinationConfiguration and S3DestinationConfiguration were given.";
  }
  if (!extended && !plain && invalid.empty() && !c.reader.failed()) {
    invalid = "A destination configuration is required: ExtendedS3DestinationConfiguration.";
  }

  if (extended) {
    ApplyS3Destination(c, *extended, "extendedS3DestinationConfiguration", true, true, cfg,
                       invalid);
  } else if (plain) {
    ApplyS3Destination(c, *plain, "s3DestinationConfiguration", false, true, cfg, invalid);
  }

  if (c.reader.failed()) return c.reader.error();
  if (!c.errors.empty()) return c.errors.ToError();
  if (!invalid.empty()) return ApiError::InvalidArgument(invalid);
  return cfg;
}

std::string_view DeliveryStreamStatusName(DeliveryStreamStatus status) {
  switch (status) {
    case DeliveryStreamStatus::kCreating: return "CREATING";
    case DeliveryStreamStatus::kActive: return "ACTIVE";
    case DeliveryStreamStatus::kDeleting: return "DELETING";
  }
  return "ACTIVE";
}

void WriteDeliveryStreamDescription(const StreamInfo& info, json::Writer& w) {
  const config::StreamConfig& cfg = info.config;
  std::string role =
      cfg.role_arn.empty() ? "arn:aws:iam::" + AccountOf(info.arn) + ":role/sluice" : cfg.role_arn;
  w.BeginObject();
  w.Key("DeliveryStreamName");
  w.String(cfg.name);
  w.Key("DeliveryStreamARN");
  w.String(info.arn);
  w.Key("DeliveryStreamStatus");
  w.String(DeliveryStreamStatusName(info.status));
  w.Key("DeliveryStreamEncryptionConfiguration");
  w.BeginObject();
  w.Key("Status");
  w.String("DISABLED");
  w.EndObject();
  w.Key("DeliveryStreamType");
  w.String(config::SourceTypeName(cfg.type));
  w.Key("VersionId");
  w.String(std::to_string(info.state.version));
  w.Key("CreateTimestamp");
  // Epoch seconds with a millisecond fraction.
  int64_t ms = info.state.create_timestamp_ms;
  std::string ts = std::to_string(ms / 1000) + ".";
  std::string frac = std::to_string(ms % 1000);
  ts += std::string(3 - frac.size(), '0') + frac;
  w.Raw(ts);
  if (cfg.type == config::SourceType::kDirectPut) {
    w.Key("Source");
    w.BeginObject();
    w.Key("DirectPutSourceDescription");
    w.BeginObject();
    w.EndObject();
    w.EndObject();
  } else if (cfg.type == config::SourceType::kKinesisStreamAsSource) {
    // The Kinesis stream's ARN in the delivery stream's region and account.
    const size_t colon = info.arn.find(":deliverystream/");
    const std::string region_account =
        colon == std::string::npos
            ? ""
            : info.arn.substr(std::string("arn:aws:firehose:").size(), colon - 17);
    w.Key("Source");
    w.BeginObject();
    w.Key("KinesisStreamSourceDescription");
    w.BeginObject();
    w.Key("KinesisStreamARN");
    w.String("arn:aws:kinesis:" + region_account + ":stream/" + cfg.source_stream);
    w.Key("RoleARN");
    w.String(role);
    w.Key("DeliveryStartTimestamp");
    w.Raw(ts);
    w.EndObject();
    w.EndObject();
  }
  w.Key("Destinations");
  w.BeginArray();
  w.BeginObject();
  w.Key("DestinationId");
  w.String(kDestinationId);
  w.Key("S3DestinationDescription");
  w.BeginObject();
  WriteS3Common(w, cfg, role);
  w.EndObject();
  w.Key("ExtendedS3DestinationDescription");
  w.BeginObject();
  WriteS3Common(w, cfg, role);
  WriteProcessors(w, cfg.processors);
  w.Key("S3BackupMode");
  w.String(cfg.raw.empty() ? "Disabled" : "Enabled");
  if (!cfg.raw.empty()) {
    w.Key("S3BackupDescription");
    w.BeginObject();
    w.Key("RoleARN");
    w.String(role);
    w.Key("BucketARN");
    w.String(BucketArnFromUrl(cfg.raw.url));
    if (!cfg.raw.prefix.empty()) {
      w.Key("Prefix");
      w.String(cfg.raw.prefix);
    }
    WriteBuffering(w, config::Buffering{});
    w.Key("CompressionFormat");
    w.String("UNCOMPRESSED");
    WriteNoEncryption(w);
    w.EndObject();
  }
  if (HasPartitionKeys(cfg.staged.prefix)) {
    w.Key("DynamicPartitioningConfiguration");
    w.BeginObject();
    w.Key("Enabled");
    w.Bool(true);
    w.Key("RetryOptions");
    w.BeginObject();
    w.Key("DurationInSeconds");
    w.Uint(cfg.retry_duration_s);
    w.EndObject();
    w.EndObject();
  }
  if (cfg.file_extension) {
    w.Key("FileExtension");
    w.String(*cfg.file_extension);
  }
  w.Key("CustomTimeZone");
  w.String(cfg.custom_time_zone);
  w.EndObject();
  w.EndObject();
  w.EndArray();
  w.Key("HasMoreDestinations");
  w.Bool(false);
  w.EndObject();
}

namespace {

constexpr std::array<std::string_view, 9> kOtherDestinationUpdates = {
    "RedshiftDestinationUpdate",
    "ElasticsearchDestinationUpdate",
    "AmazonopensearchserviceDestinationUpdate",
    "AmazonOpenSearchServerlessDestinationUpdate",
    "SplunkDestinationUpdate",
    "HttpEndpointDestinationUpdate",
    "SnowflakeDestinationUpdate",
    "IcebergDestinationUpdate",
    "DatabaseSourceConfigurationUpdate"};

bool AllDigits(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool MatchesDestinationId(std::string_view v) {
  for (char c : v) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

ApiResult<UpdateDestinationInput> ParseUpdateDestination(std::string_view body) {
  auto root = ParseBody(body);
  if (!root.ok()) return root.error();
  object o = root.value();
  Checker c;
  UpdateDestinationInput in;
  auto name = c.reader.String(o, "DeliveryStreamName");
  if (!c.reader.failed()) ValidateStreamName(name, "deliveryStreamName", true, c.errors);
  if (auto version = c.Str(o, "", "CurrentDeliveryStreamVersionId", true, 1, 50)) {
    if (!AllDigits(*version)) {
      c.errors.Add(*version, "currentDeliveryStreamVersionId",
                   "Member must satisfy regular expression pattern: [0-9]+");
    } else if (version->size() <= 19) {
      in.current_version = std::stoull(std::string(*version));
    }
  }
  if (auto id = c.Str(o, "", "DestinationId", true, 1, 100)) {
    if (!MatchesDestinationId(*id)) {
      c.errors.Add(*id, "destinationId",
                   "Member must satisfy regular expression pattern: [a-zA-Z0-9-]+");
    }
    in.destination_id = std::string(*id);
  }
  if (c.reader.failed()) return c.reader.error();
  if (!c.errors.empty()) return c.errors.ToError();
  in.name = std::string(*name);
  return in;
}

ApiResult<config::StreamConfig> ApplyDestinationUpdate(std::string_view body,
                                                       config::StreamConfig current) {
  auto root = ParseBody(body);
  if (!root.ok()) return root.error();
  object o = root.value();
  Checker c;
  std::string invalid;
  for (auto other : kOtherDestinationUpdates) {
    simdjson::dom::element ignored;
    if (o.at_key(other).get(ignored) == simdjson::SUCCESS && !ignored.is_null() &&
        invalid.empty()) {
      invalid = std::string(other) +
                " is not supported by Sluice: a delivery stream's destination is S3 "
                "(ExtendedS3DestinationUpdate).";
    }
  }
  auto extended = c.reader.Struct(o, "ExtendedS3DestinationUpdate");
  auto plain = c.reader.Struct(o, "S3DestinationUpdate");
  if (extended && plain && invalid.empty()) {
    invalid =
        "Exactly one destination update is allowed; both ExtendedS3DestinationUpdate and "
        "S3DestinationUpdate were given.";
  }
  if (extended) {
    ApplyS3Destination(c, *extended, "extendedS3DestinationUpdate", true, false, current, invalid);
  } else if (plain) {
    ApplyS3Destination(c, *plain, "s3DestinationUpdate", false, false, current, invalid);
  }
  if (c.reader.failed()) return c.reader.error();
  if (!c.errors.empty()) return c.errors.ToError();
  if (!invalid.empty()) return ApiError::InvalidArgument(invalid);
  return current;
}

}  // namespace sluice::api
