// Builtins of the interpreter: jinja2's filters and tests (the subset chat templates use, with
// transformers' own tojson), Python methods on str/dict/list, and the globals transformers
// provides (raise_exception, strftime_now) beside jinja's (range, namespace, dict).
// The parser asks IsFilter/IsTest so that unknown names are refused before rendering.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "engine/chat/value.h"

namespace attnserve::chat {

bool IsFilter(std::string_view name);
bool IsTest(std::string_view name);

// `value | name(args...)`.
absl::StatusOr<Value> ApplyFilter(Interpreter& interp, std::string_view name, Value value,
                                  CallArgs args);
// `value is name(args...)`.
absl::StatusOr<bool> ApplyTest(Interpreter& interp, std::string_view name, const Value& value,
                               const CallArgs& args);
// `obj.name` for a Python method of str / dict / list: a bound method value, or nullopt when the
// type has no such method. Mutating list/dict methods are bound too but fail when called, with
// the sandbox's "access to attribute 'append' of 'list' object is unsafe." message.
std::optional<Value> BindMethod(const Value& obj, std::string_view name);

// The global names every render sees (range, namespace, dict, raise_exception, strftime_now).
// `now_unix_seconds` (in the local time zone) is what strftime_now formats.
void AddGlobals(Dict& globals, int64_t now_unix_seconds);

}  // namespace attnserve::chat
