// Interpreter: renders a parsed template (ast.h) with jinja2's semantics — scopes (a for-loop
// iteration and a macro call each get their own; if/else do not), the loop object, Python
// operators, attribute/item lookup falling back to each other, and the default Undefined
// (prints as "", is falsy and empty, fails when used as an object or operand).
// One Interpreter per Render call: not thread-safe, cheap to create. The AST must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/chat/ast.h"
#include "engine/chat/value.h"

namespace attnserve::chat {

// Bounds on one render, so a template that loops or recurses too much fails instead of hanging
// or overflowing the stack (at these defaults a render needs at most about 0.5 MB of stack).
struct RenderLimits {
  int64_t max_steps = 1'000'000;             // statements + loop iterations + calls (~1 s)
  int64_t max_output_bytes = 32 << 20;       // everything rendered, incl. macro/set-block text
  int max_call_depth = 100;                  // nested macro calls
  int max_render_depth = 500;                // nested statements + expressions being evaluated
  int max_value_depth = 200;                 // nesting of lists/dicts stored in a namespace
};

// Status payload marking the error raised by the template's raise_exception(message): its
// message is exactly the template's text (no line suffix).
inline constexpr char kRaiseExceptionPayload[] = "attnserve.chat/raise_exception";

class Interpreter {
 public:
  Interpreter(const RenderLimits& limits, Value globals);

  // Renders the top-level body. Errors: raise_exception's message verbatim (with the payload
  // above) or "<what went wrong> at line N".
  absl::StatusOr<std::string> Render(const Body& body);

  // Used by builtins.
  absl::StatusOr<Value> Call(const Value& fn, CallArgs args);
  absl::StatusOr<Value> GetAttr(const Value& obj, const std::string& name);
  absl::StatusOr<Value> GetItem(const Value& obj, const Value& key);
  // Python iteration: list/tuple items, dict keys, str characters, undefined → nothing.
  absl::StatusOr<ValueList> Iterate(const Value& v);
  absl::StatusOr<Value> CallMacro(const Node& macro, CallArgs args);
  absl::Status CheckSize(size_t bytes) const;  // one string may not exceed the output limit
  absl::Status Step();
  // What a namespace attribute may hold: no namespace, nesting within the limit.
  absl::Status CheckNamespaceValue(const Value& v, const std::string& where) const;

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  using Frame = std::vector<std::pair<std::string, Value>>;

  absl::StatusOr<Flow> Exec(const Body& body, std::string& out);
  absl::StatusOr<Flow> ExecNode(const Node& node, std::string& out);  // depth-guarded ExecStatement
  absl::StatusOr<Flow> ExecStatement(const Node& node, std::string& out);
  absl::StatusOr<Flow> ExecFor(const Node& node, std::string& out);
  absl::Status ExecSet(const Node& node);
  absl::Status Append(std::string& out, std::string_view text);
  // Renders `body`, then applies the filter chain `filters` (if any) to the text.
  absl::StatusOr<Value> RenderFiltered(const Body& body, const Expr* filters);

  absl::StatusOr<Value> Eval(const Expr& e);  // depth-guarded EvalExpr
  absl::StatusOr<Value> EvalExpr(const Expr& e);
  absl::Status EnterNested();  // ++render_depth_; ResourceExhausted past the limit
  absl::StatusOr<Value> EvalBinary(const std::string& op, const Value& a, const Value& b);
  absl::StatusOr<bool> EvalCompare(const std::string& op, const Value& a, const Value& b);
  absl::StatusOr<Value> EvalSlice(const Value& obj, const Value& start, const Value& stop,
                                  const Value& step);
  absl::StatusOr<CallArgs> EvalArgs(const Expr& e, size_t first_positional);

  Value Lookup(const std::string& name) const;
  void Assign(const std::string& name, Value v);

  RenderLimits limits_;
  std::vector<Frame> frames_;  // frames_[0]: globals + render context; [1]: template top level
  int64_t steps_ = 0;
  int64_t produced_bytes_ = 0;
  int call_depth_ = 0;
  int render_depth_ = 0;  // Eval + ExecNode recursion
  std::vector<Value> captured_;  // innermost last: what kCaptured evaluates to
};

}  // namespace attnserve::chat
