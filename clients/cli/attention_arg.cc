// ParseAttentionArg: "name:key=value,..." -> v1::AttentionConfig via protobuf reflection.
#include "clients/cli/attention_arg.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace attnserve::cli {

absl::StatusOr<v1::AttentionConfig> ParseAttentionArg(const std::string& text) {
  v1::AttentionConfig config;
  const size_t colon = text.find(':');
  config.set_backend(text.substr(0, colon));
  if (colon == std::string::npos) return config;
  const google::protobuf::Descriptor* d = config.GetDescriptor();
  const google::protobuf::Reflection* r = config.GetReflection();
  for (const std::string& item : std::vector<std::string>(absl::StrSplit(text.substr(colon + 1), ',', absl::SkipEmpty()))) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("\"", item, "\" is not key=value"));
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(key);
    if (f == nullptr || key == "backend") {
      return absl::InvalidArgumentError(absl::StrCat("unknown attention parameter \"", key, "\""));
    }
    for (const std::string& part : std::vector<std::string>(absl::StrSplit(value, f->is_repeated() ? '+' : '\0'))) {
      int64_t v = 0;
      if (!absl::SimpleAtoi(part, &v)) {
        return absl::InvalidArgumentError(absl::StrCat("attention parameter ", key, ": \"", part, "\" is not an integer"));
      }
      using FD = google::protobuf::FieldDescriptor;
      if (f->is_repeated()) {
        r->AddInt32(&config, f, static_cast<int32_t>(v));
      } else if (f->cpp_type() == FD::CPPTYPE_UINT64) {
        r->SetUInt64(&config, f, static_cast<uint64_t>(v));
      } else {
        r->SetInt32(&config, f, static_cast<int32_t>(v));
      }
    }
  }
  return config;
}

absl::StatusOr<v1::ContextPolicy> ParseContextPolicyArg(const std::string& text) {
  v1::ContextPolicy policy;
  const size_t colon = text.find(':');
  policy.set_kind(text.substr(0, colon));
  if (colon == std::string::npos) return policy;
  const google::protobuf::Descriptor* d = policy.GetDescriptor();
  const google::protobuf::Reflection* r = policy.GetReflection();
  using FD = google::protobuf::FieldDescriptor;
  for (const std::string& item : std::vector<std::string>(absl::StrSplit(text.substr(colon + 1), ',', absl::SkipEmpty()))) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("\"", item, "\" is not key=value"));
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    const FD* f = d->FindFieldByName(key);
    if (f == nullptr || key == "kind") {
      return absl::InvalidArgumentError(absl::StrCat("unknown context-policy parameter \"", key, "\""));
    }
    for (const std::string& part : std::vector<std::string>(absl::StrSplit(value, f->is_repeated() ? '/' : '\0'))) {
      const auto bad = [&](const char* what) {
        return absl::InvalidArgumentError(absl::StrCat("context-policy parameter ", key, ": \"", part, "\" is not ", what));
      };
      if (f->cpp_type() == FD::CPPTYPE_BOOL) {
        if (part != "true" && part != "false") return bad("true or false");
        r->SetBool(&policy, f, part == "true");
      } else if (f->cpp_type() == FD::CPPTYPE_UINT32) {
        uint32_t v = 0;
        if (!absl::SimpleAtoi(part, &v)) return bad("a non-negative integer");
        r->SetUInt32(&policy, f, v);
      } else {
        double v = 0;
        if (!absl::SimpleAtod(part, &v)) return bad("a number");
        if (f->is_repeated()) r->AddDouble(&policy, f, v);
        else r->SetDouble(&policy, f, v);
      }
    }
  }
  return policy;
}

std::vector<std::string> SplitChoices(const std::string& text) {
  return absl::StrSplit(text, ';', absl::SkipEmpty());
}

}  // namespace attnserve::cli
