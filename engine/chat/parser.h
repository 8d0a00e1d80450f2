// Parser: tokens → AST, with jinja2's grammar and operator precedence. Refuses at parse time
// what the interpreter does not implement, naming it: unsupported tags (extends, include, call,
// raw, ...), unknown filters and tests, `recursive` loops, *args/**kwargs — as
// InvalidArgument "unsupported tag 'extends' at line 3"; syntax errors likewise carry the line.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "engine/chat/ast.h"

namespace attnserve::chat {

absl::StatusOr<Body> ParseTemplate(const std::string& source);

}  // namespace attnserve::chat
