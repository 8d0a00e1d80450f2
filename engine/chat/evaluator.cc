// Interpreter (see evaluator.h): statements, scopes, the loop object and macros.
// Expression evaluation lives in expressions.cc.
#include "engine/chat/evaluator.h"

#include "absl/strings/str_cat.h"
#include "engine/chat/status_macros.h"

namespace attnserve::chat {
namespace {

constexpr char kLinePayload[] = "attnserve.chat/line";

// Adds " at line N" once (the innermost statement that failed) unless raise_exception's.
absl::Status AtLine(absl::Status s, int line) {
  if (s.ok() || s.GetPayload(kRaiseExceptionPayload) || s.GetPayload(kLinePayload)) return s;
  absl::Status out(s.code(), absl::StrCat(s.message(), " at line ", line));
  out.SetPayload(kLinePayload, absl::Cord("1"));
  return out;
}

bool ContainsNamespace(const Value& v) {
  if (v.is_namespace()) return true;
  if (v.is_list()) {
    for (const Value& x : v.list()) {
      if (ContainsNamespace(x)) return true;
    }
  } else if (v.is_dict()) {
    for (const auto& [k, x] : v.dict().items) {
      if (ContainsNamespace(x)) return true;
    }
  }
  return false;
}

class Macro : public Callable {
 public:
  explicit Macro(const Node* node) : node_(node) {}
  absl::StatusOr<Value> Call(Interpreter& interp, CallArgs args) const override {
    return interp.CallMacro(*node_, std::move(args));
  }
  std::string Repr() const override { return absl::StrCat("<Macro '", node_->text, "'>"); }

 private:
  const Node* node_;
};

class LoopCycle : public Callable {
 public:
  explicit LoopCycle(int64_t index0) : index0_(index0) {}
  absl::StatusOr<Value> Call(Interpreter&, CallArgs args) const override {
    if (args.positional.empty()) return absl::InvalidArgumentError("no items for cycling given");
    return args.positional[static_cast<size_t>(index0_) % args.positional.size()];
  }
  std::string Repr() const override { return "<bound method LoopContext.cycle>"; }

 private:
  int64_t index0_;
};

}  // namespace

Interpreter::Interpreter(const RenderLimits& limits, Value globals) : limits_(limits) {
  frames_.emplace_back();
  if (globals.is_dict()) {
    for (const auto& [k, v] : globals.dict().items) frames_[0].emplace_back(k.str(), v);
  }
  frames_.emplace_back();
}

absl::StatusOr<std::string> Interpreter::Render(const Body& body) {
  std::string out;
  absl::StatusOr<Flow> flow = Exec(body, out);
  if (!flow.ok()) {
    absl::Status s = flow.status();
    s.ErasePayload(kLinePayload);  // internal bookkeeping, not part of the error
    return s;
  }
  return out;
}

absl::Status Interpreter::Step() {
  if (++steps_ > limits_.max_steps) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "template exceeded the step limit (", limits_.max_steps, " statements, loop iterations and calls)"));
  }
  return absl::OkStatus();
}

absl::Status Interpreter::CheckSize(size_t bytes) const {
  if (static_cast<int64_t>(bytes) > limits_.max_output_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("template output exceeded the limit of ", limits_.max_output_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status Interpreter::Append(std::string& out, std::string_view text) {
  produced_bytes_ += static_cast<int64_t>(text.size());
  if (produced_bytes_ > limits_.max_output_bytes) return CheckSize(static_cast<size_t>(produced_bytes_));
  out.append(text);
  return absl::OkStatus();
}

Value Interpreter::Lookup(const std::string& name) const {
  for (auto f = frames_.rbegin(); f != frames_.rend(); ++f) {
    for (auto it = f->rbegin(); it != f->rend(); ++it) {
      if (it->first == name) return it->second;
    }
  }
  return Value::Undefined(absl::StrCat("'", name, "' is undefined"));
}

void Interpreter::Assign(const std::string& name, Value v) {
  for (auto& [k, old] : frames_.back()) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  frames_.back().emplace_back(name, std::move(v));
}

absl::StatusOr<Interpreter::Flow> Interpreter::Exec(const Body& body, std::string& out) {
  for (const Node& node : body) {
    auto flow = ExecNode(node, out);
    if (!flow.ok()) return AtLine(flow.status(), node.line);
    if (*flow != Flow::kNormal) return *flow;
  }
  return Flow::kNormal;
}

absl::Status Interpreter::EnterNested() {
  if (++render_depth_ > limits_.max_render_depth) {
    --render_depth_;
    return absl::ResourceExhaustedError(absl::StrCat(
        "template rendering nested deeper than ", limits_.max_render_depth, " levels"));
  }
  return absl::OkStatus();
}

// A namespace holds no namespace (so no cycles) and no nesting beyond the limit: values that
// grow by being stored back into a namespace stay shallow enough to print, compare and free.
absl::Status Interpreter::CheckNamespaceValue(const Value& v, const std::string& where) const {
  if (v.depth() > limits_.max_value_depth) {
    return absl::ResourceExhaustedError(absl::StrCat("value stored in '", where, "' nested deeper than ",
                                                     limits_.max_value_depth, " lists/dicts"));
  }
  if (ContainsNamespace(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported construct: a namespace stored inside a namespace ('", where, "')"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Interpreter::Flow> Interpreter::ExecNode(const Node& node, std::string& out) {
  CHAT_RETURN_IF_ERROR(EnterNested());
  absl::StatusOr<Flow> flow = ExecStatement(node, out);
  --render_depth_;
  return flow;
}

absl::StatusOr<Interpreter::Flow> Interpreter::ExecStatement(const Node& node, std::string& out) {
  CHAT_RETURN_IF_ERROR(Step());
  switch (node.kind) {
    case Node::Kind::kText:
      CHAT_RETURN_IF_ERROR(Append(out, node.text));
      return Flow::kNormal;
    case Node::Kind::kOutput: {
      CHAT_ASSIGN_OR_RETURN(Value v, Eval(*node.expr));
      CHAT_RETURN_IF_ERROR(Append(out, v.ToString()));
      return Flow::kNormal;
    }
    case Node::Kind::kIf: {
      for (const auto& [cond, body] : node.branches) {
        CHAT_ASSIGN_OR_RETURN(Value c, Eval(*cond));
        if (c.Truthy()) return Exec(body, out);
      }
      return Exec(node.else_body, out);
    }
    case Node::Kind::kFor: return ExecFor(node, out);
    case Node::Kind::kSet:
      CHAT_RETURN_IF_ERROR(ExecSet(node));
      return Flow::kNormal;
    case Node::Kind::kSetBlock: {
      CHAT_ASSIGN_OR_RETURN(Value v, RenderFiltered(node.body, node.expr.get()));
      Assign(node.targets[0], std::move(v));
      return Flow::kNormal;
    }
    case Node::Kind::kFilterBlock: {
      CHAT_ASSIGN_OR_RETURN(Value v, RenderFiltered(node.body, node.expr.get()));
      CHAT_RETURN_IF_ERROR(Append(out, v.ToString()));
      return Flow::kNormal;
    }
    case Node::Kind::kMacro:
      Assign(node.text, Value::Function(std::make_shared<Macro>(&node)));
      return Flow::kNormal;
    case Node::Kind::kBreak: return Flow::kBreak;
    case Node::Kind::kContinue: return Flow::kContinue;
    case Node::Kind::kGeneration: return Exec(node.body, out);
  }
  return Flow::kNormal;
}

absl::StatusOr<Value> Interpreter::RenderFiltered(const Body& body, const Expr* filters) {
  std::string text;
  CHAT_ASSIGN_OR_RETURN(Flow flow, Exec(body, text));
  (void)flow;
  if (!filters) return Value::String(std::move(text));
  captured_.push_back(Value::String(std::move(text)));
  absl::StatusOr<Value> v = Eval(*filters);
  captured_.pop_back();
  return v;
}

absl::Status Interpreter::ExecSet(const Node& node) {
  CHAT_ASSIGN_OR_RETURN(Value v, Eval(*node.expr));
  if (!node.attr.empty()) {
    const Value ns = Lookup(node.targets[0]);
    if (!ns.is_namespace()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot assign attribute on non-namespace object '", node.targets[0], "'"));
    }
    CHAT_RETURN_IF_ERROR(CheckNamespaceValue(v, absl::StrCat(node.targets[0], ".", node.attr)));
    ns.mutable_dict().Set(Value::String(node.attr), std::move(v));
    return absl::OkStatus();
  }
  if (node.targets.size() == 1) {
    Assign(node.targets[0], std::move(v));
    return absl::OkStatus();
  }
  CHAT_ASSIGN_OR_RETURN(ValueList items, Iterate(v));
  if (items.size() != node.targets.size()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot unpack ", items.size(), " values into ",
                                                   node.targets.size(), " names"));
  }
  for (size_t i = 0; i < items.size(); ++i) Assign(node.targets[i], std::move(items[i]));
  return absl::OkStatus();
}

absl::StatusOr<Interpreter::Flow> Interpreter::ExecFor(const Node& node, std::string& out) {
  CHAT_ASSIGN_OR_RETURN(Value iterable, Eval(*node.expr));
  CHAT_ASSIGN_OR_RETURN(ValueList all, Iterate(iterable));
  auto bind = [&](const Value& item) -> absl::Status {
    if (node.targets.size() == 1) {
      frames_.back().emplace_back(node.targets[0], item);
      return absl::OkStatus();
    }
    CHAT_ASSIGN_OR_RETURN(ValueList parts, Iterate(item));
    if (parts.size() != node.targets.size()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot unpack ", parts.size(),
                                                     " values into ", node.targets.size(), " loop variables"));
    }
    for (size_t i = 0; i < parts.size(); ++i) frames_.back().emplace_back(node.targets[i], parts[i]);
    return absl::OkStatus();
  };
  ValueList items;
  if (node.cond) {  // `for x in xs if cond`: the loop object counts the kept items only
    for (const Value& item : all) {
      CHAT_RETURN_IF_ERROR(Step());
      frames_.emplace_back();
      absl::Status s = bind(item);
      absl::StatusOr<Value> keep = s.ok() ? Eval(*node.cond) : absl::StatusOr<Value>(s);
      frames_.pop_back();
      if (!keep.ok()) return keep.status();
      if (keep->Truthy()) items.push_back(item);
    }
  } else {
    items = std::move(all);
  }
  if (items.empty()) return Exec(node.else_body, out);
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    CHAT_RETURN_IF_ERROR(Step());
    static const Value kKeys[] = {
        Value::String("index"),    Value::String("index0"), Value::String("revindex"),
        Value::String("revindex0"), Value::String("first"), Value::String("last"),
        Value::String("length"),   Value::String("depth"),  Value::String("depth0"),
        Value::String("previtem"), Value::String("nextitem"), Value::String("cycle")};
    static const Value kNoPrevious = Value::Undefined("there is no previous item");
    static const Value kNoNext = Value::Undefined("there is no next item");
    auto loop = std::make_shared<Dict>();
    loop->items = {{kKeys[0], Value::Int(i + 1)},
                   {kKeys[1], Value::Int(i)},
                   {kKeys[2], Value::Int(n - i)},
                   {kKeys[3], Value::Int(n - i - 1)},
                   {kKeys[4], Value::Bool(i == 0)},
                   {kKeys[5], Value::Bool(i == n - 1)},
                   {kKeys[6], Value::Int(n)},
                   {kKeys[7], Value::Int(1)},
                   {kKeys[8], Value::Int(0)},
                   {kKeys[9], i > 0 ? items[i - 1] : kNoPrevious},
                   {kKeys[10], i + 1 < n ? items[i + 1] : kNoNext},
                   {kKeys[11], Value::Function(std::make_shared<LoopCycle>(i))}};
    frames_.emplace_back();
    frames_.back().emplace_back("loop", Value::MakeDict(std::move(loop), Value::DictFlavor::kObject));
    absl::Status bound = bind(items[i]);
    absl::StatusOr<Flow> flow = bound.ok() ? Exec(node.body, out) : absl::StatusOr<Flow>(bound);
    frames_.pop_back();
    if (!flow.ok()) return flow.status();
    if (*flow == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

absl::StatusOr<Value> Interpreter::CallMacro(const Node& macro, CallArgs args) {
  CHAT_RETURN_IF_ERROR(Step());
  if (call_depth_ >= limits_.max_call_depth) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "maximum macro call depth (", limits_.max_call_depth, ") exceeded in '", macro.text, "'"));
  }
  if (args.positional.size() > macro.params.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("macro '", macro.text, "' takes not more than ", macro.params.size(), " argument(s)"));
  }
  // A macro sees its parameters, then the template's top level and globals (not the caller's).
  std::vector<Frame> saved;
  saved.swap(frames_);
  frames_.push_back(saved[0]);
  frames_.push_back(saved[1]);
  frames_.emplace_back();
  auto restore = [&]() { frames_.swap(saved); };
  for (size_t i = 0; i < macro.params.size(); ++i) {
    const std::string& pname = macro.params[i].first;
    Value v;
    bool have = false;
    if (i < args.positional.size()) {
      v = args.positional[i];
      have = true;
    }
    for (auto& [k, kv] : args.keyword) {
      if (k == pname) {
        v = kv;
        have = true;
      }
    }
    if (!have) {
      if (macro.params[i].second) {
        auto d = Eval(*macro.params[i].second);
        if (!d.ok()) { restore(); return d.status(); }
        v = *d;
      } else {
        v = Value::Undefined(absl::StrCat("parameter '", pname, "' was not provided"));
      }
    }
    frames_.back().emplace_back(pname, std::move(v));
  }
  for (auto& [k, kv] : args.keyword) {
    bool known = false;
    for (const auto& p : macro.params) known |= p.first == k;
    if (!known) {
      restore();
      return absl::InvalidArgumentError(
          absl::StrCat("macro '", macro.text, "' takes no keyword argument '", k, "'"));
    }
  }
  ++call_depth_;
  std::string out;
  auto flow = Exec(macro.body, out);
  --call_depth_;
  restore();
  if (!flow.ok()) return flow.status();
  return Value::String(std::move(out));
}

}  // namespace attnserve::chat
