// Interpreter: expression evaluation — Python operators, jinja's attribute/item lookup (with
// the immutable sandbox's refusal of mutating methods), slicing, calls, filters and tests.
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "engine/chat/builtins.h"
#include "engine/chat/evaluator.h"
#include "engine/chat/py_string.h"
#include "engine/chat/status_macros.h"

namespace attnserve::chat {
namespace {

absl::Status UndefinedError(const Value& v) {
  return absl::InvalidArgumentError(v.str().empty() ? "value is undefined" : v.str());
}

// Python's type name ("int", "str", "NoneType") for TypeError messages.
std::string PyType(const Value& v) {
  std::string t = v.TypeName();
  if (t == "None") return "NoneType";
  const size_t space = t.find(' ');
  return space == std::string::npos ? t : t.substr(0, space);
}

std::string OperandTypes(const std::string& op, const Value& a, const Value& b) {
  return absl::StrCat("unsupported operand type(s) for ", op, ": '", PyType(a), "' and '", PyType(b), "'");
}

// Python ints are unbounded; results beyond 64 bits are refused rather than wrapped.
absl::StatusOr<Value> CheckedInt(bool overflowed, int64_t result) {
  if (overflowed) return absl::InvalidArgumentError("unsupported: integer result beyond 64 bits");
  return Value::Int(result);
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

absl::StatusOr<ValueList> Interpreter::Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return ValueList{};
    case Value::Kind::kList: return v.list();
    case Value::Kind::kDict: {
      ValueList keys;
      for (const auto& [k, val] : v.dict().items) keys.push_back(k);
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      for (char32_t c : py::Decode(v.str())) chars.push_back(Value::String(py::Encode(std::u32string(1, c))));
      return chars;
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("'", v.TypeName(), "' is not iterable"));
  }
}

absl::StatusOr<Value> Interpreter::GetAttr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (obj.is_dict() && !obj.is_plain_dict()) {
    if (const Value* v = obj.dict().Find(name)) return *v;
  } else {
    if (auto m = BindMethod(obj, name)) return *m;
    if (obj.is_plain_dict()) {
      if (const Value* v = obj.dict().Find(name)) return *v;
    }
  }
  return Value::Undefined(absl::StrCat("'", obj.TypeName(), "' has no attribute '", name, "'"));
}

absl::StatusOr<Value> Interpreter::GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().Find(key)) return *v;
  } else if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    const bool is_str = obj.is_string();
    std::u32string chars;
    if (is_str) chars = py::Decode(obj.str());
    const int64_t n = is_str ? static_cast<int64_t>(chars.size()) : static_cast<int64_t>(obj.list().size());
    int64_t i = key.int_value();
    if (i < 0) i += n;
    if (i >= 0 && i < n) {
      if (is_str) return Value::String(py::Encode(std::u32string(1, chars[static_cast<size_t>(i)])));
      return obj.list()[static_cast<size_t>(i)];
    }
    return Value::Undefined(absl::StrCat("'", obj.TypeName(), "' has no element ", key.int_value()));
  }
  if (key.is_string()) return GetAttr(obj, key.str());
  return Value::Undefined(absl::StrCat("'", obj.TypeName(), "' has no element ", key.Repr()));
}

absl::StatusOr<Value> Interpreter::EvalSlice(const Value& obj, const Value& start, const Value& stop,
                                             const Value& step_v) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (!obj.is_list() && !obj.is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("'", obj.TypeName(), "' cannot be sliced"));
  }
  auto as_index = [](const Value& v) -> absl::StatusOr<std::optional<int64_t>> {
    if (v.is_none() || v.is_undefined()) return std::optional<int64_t>();
    if (!v.is_int() && !v.is_bool()) return absl::InvalidArgumentError("slice indices must be integers or None");
    return std::optional<int64_t>(v.int_value());
  };
  CHAT_ASSIGN_OR_RETURN(auto lo, as_index(start));
  CHAT_ASSIGN_OR_RETURN(auto hi, as_index(stop));
  CHAT_ASSIGN_OR_RETURN(auto st, as_index(step_v));
  const int64_t step = st.value_or(1);
  if (step == 0) return absl::InvalidArgumentError("slice step cannot be zero");
  const bool is_str = obj.is_string();
  std::u32string chars;
  if (is_str) chars = py::Decode(obj.str());
  const int64_t n = is_str ? static_cast<int64_t>(chars.size()) : static_cast<int64_t>(obj.list().size());
  auto adjust = [&](std::optional<int64_t> x, int64_t dflt) {
    if (!x) return dflt;
    int64_t v = *x;
    if (v < 0) {
      v += n;
      if (v < 0) v = step < 0 ? -1 : 0;
    } else if (v >= n) {
      v = step < 0 ? n - 1 : n;
    }
    return v;
  };
  const int64_t b = adjust(lo, step < 0 ? n - 1 : 0);
  const int64_t e = adjust(hi, step < 0 ? -1 : n);
  std::u32string out_chars;
  ValueList out_items;
  for (int64_t i = b; step > 0 ? i < e : i > e; i += step) {
    if (is_str) out_chars.push_back(chars[static_cast<size_t>(i)]);
    else out_items.push_back(obj.list()[static_cast<size_t>(i)]);
  }
  if (is_str) return Value::String(py::Encode(out_chars));
  return Value::List(std::move(out_items), obj.is_tuple());
}

absl::StatusOr<Value> Interpreter::Call(const Value& fn, CallArgs args) {
  if (fn.is_undefined()) return UndefinedError(fn);
  if (!fn.is_callable()) {
    return absl::InvalidArgumentError(absl::StrCat("'", fn.TypeName(), "' is not callable"));
  }
  return fn.callable().Call(*this, std::move(args));
}

absl::StatusOr<CallArgs> Interpreter::EvalArgs(const Expr& e, size_t first_positional) {
  CallArgs args;
  for (size_t i = first_positional; i < e.args.size(); ++i) {
    CHAT_ASSIGN_OR_RETURN(Value v, Eval(*e.args[i]));
    args.positional.push_back(std::move(v));
  }
  for (const auto& [k, x] : e.kwargs) {
    CHAT_ASSIGN_OR_RETURN(Value v, Eval(*x));
    args.keyword.emplace_back(k, std::move(v));
  }
  return args;
}

absl::StatusOr<Value> Interpreter::EvalBinary(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {
    std::string s = a.ToString() + b.ToString();
    CHAT_RETURN_IF_ERROR(CheckSize(s.size()));
    return Value::String(std::move(s));
  }
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  const bool nums = a.is_number() && b.is_number();
  const bool floats = nums && (a.is_float() || b.is_float());
  if (op == "+") {
    if (nums && floats) return Value::Float(a.float_value() + b.float_value());
    if (nums) {
      int64_t r = 0;
      const bool overflowed = __builtin_add_overflow(a.int_value(), b.int_value(), &r);
      return CheckedInt(overflowed, r);
    }
    if (a.is_string() && b.is_string()) {
      CHAT_RETURN_IF_ERROR(CheckSize(a.str().size() + b.str().size()));
      return Value::String(a.str() + b.str());
    }
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      ValueList items = a.list();
      items.insert(items.end(), b.list().begin(), b.list().end());
      return Value::List(std::move(items), a.is_tuple());
    }
    if (a.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("can only concatenate str (not \"", PyType(b), "\") to str"));
    }
    return absl::InvalidArgumentError(OperandTypes(op, a, b));
  }
  if (op == "*") {
    if (nums && floats) return Value::Float(a.float_value() * b.float_value());
    if (nums) {
      int64_t r = 0;
      const bool overflowed = __builtin_mul_overflow(a.int_value(), b.int_value(), &r);
      return CheckedInt(overflowed, r);
    }
    const Value* seq = a.is_number() ? &b : &a;
    const Value* count = a.is_number() ? &a : &b;
    if ((seq->is_string() || seq->is_list()) && (count->is_int() || count->is_bool())) {
      const int64_t k = std::max<int64_t>(0, count->int_value());
      const size_t unit = seq->is_string() ? seq->str().size() : seq->list().size() * sizeof(Value);
      if (unit > 0 && k > limits_.max_output_bytes / static_cast<int64_t>(unit)) {
        return CheckSize(static_cast<size_t>(limits_.max_output_bytes) + 1);
      }
      if (seq->is_string()) {
        std::string s;
        for (int64_t i = 0; i < k; ++i) s += seq->str();
        return Value::String(std::move(s));
      }
      ValueList items;
      for (int64_t i = 0; i < k; ++i) items.insert(items.end(), seq->list().begin(), seq->list().end());
      return Value::List(std::move(items), seq->is_tuple());
    }
    return absl::InvalidArgumentError(OperandTypes(op, a, b));
  }
  if (!nums) {
    if (op == "%" && a.is_string()) {
      return absl::InvalidArgumentError("unsupported construct: printf-style '%' string formatting");
    }
    return absl::InvalidArgumentError(OperandTypes(op, a, b));
  }
  if (op == "-") {
    if (floats) return Value::Float(a.float_value() - b.float_value());
    int64_t r = 0;
    const bool overflowed = __builtin_sub_overflow(a.int_value(), b.int_value(), &r);
    return CheckedInt(overflowed, r);
  }
  if (op == "/") {
    if (b.float_value() == 0) return absl::InvalidArgumentError("division by zero");
    return Value::Float(a.float_value() / b.float_value());
  }
  if (op == "//" || op == "%") {
    if (b.float_value() == 0) return absl::InvalidArgumentError("integer division or modulo by zero");
    if (floats) {
      const double q = std::floor(a.float_value() / b.float_value());
      return op == "//" ? Value::Float(q) : Value::Float(a.float_value() - q * b.float_value());
    }
    if (a.int_value() == INT64_MIN && b.int_value() == -1) return CheckedInt(true, 0);
    const int64_t q = FloorDiv(a.int_value(), b.int_value());
    return op == "//" ? Value::Int(q) : Value::Int(a.int_value() - q * b.int_value());
  }
  if (op == "**") {
    if (!floats && b.int_value() >= 0) {
      int64_t r = 1;
      bool overflowed = false;
      for (int64_t i = 0; i < b.int_value() && !overflowed && r != 0; ++i) {
        overflowed = __builtin_mul_overflow(r, a.int_value(), &r);
        if (r == 1 || r == -1) {  // 1 ** n, (-1) ** n: the rest alternates or stays
          if (a.int_value() == -1 && (b.int_value() - i - 1) % 2 == 1) r = -r;
          break;
        }
      }
      return CheckedInt(overflowed, r);
    }
    return Value::Float(std::pow(a.float_value(), b.float_value()));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown operator '", op, "'"));
}

absl::StatusOr<bool> Interpreter::EvalCompare(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return Equals(a, b);
  if (op == "!=") return !Equals(a, b);
  if (op == "in" || op == "notin") {
    bool found = false;
    if (b.is_string()) {
      if (!a.is_string()) {
        return absl::InvalidArgumentError(absl::StrCat("'in <string>' requires string as left operand, not ",
                                                       a.TypeName()));
      }
      found = b.str().find(a.str()) != std::string::npos;
    } else if (b.is_dict()) {
      found = b.dict().Find(a) != nullptr;
    } else if (b.is_list()) {
      for (const Value& x : b.list()) found |= Equals(x, a);
    } else if (!b.is_undefined()) {
      return absl::InvalidArgumentError(absl::StrCat("argument of type '", b.TypeName(), "' is not iterable"));
    }
    return op == "in" ? found : !found;
  }
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (op == "<") return LessThan(a, b);
  if (op == ">") return LessThan(b, a);
  if (op == "<=") {
    CHAT_ASSIGN_OR_RETURN(bool gt, LessThan(b, a));
    return !gt;
  }
  if (op == ">=") {
    CHAT_ASSIGN_OR_RETURN(bool lt, LessThan(a, b));
    return !lt;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown comparison '", op, "'"));
}

absl::StatusOr<Value> Interpreter::Eval(const Expr& e) {
  CHAT_RETURN_IF_ERROR(EnterNested());
  absl::StatusOr<Value> v = EvalExpr(e);
  --render_depth_;
  return v;
}

absl::StatusOr<Value> Interpreter::EvalExpr(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kLiteral: return e.literal;
    case Expr::Kind::kName: return Lookup(e.name);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple: {
      ValueList items;
      for (const auto& a : e.args) {
        CHAT_ASSIGN_OR_RETURN(Value v, Eval(*a));
        items.push_back(std::move(v));
      }
      return Value::List(std::move(items), e.kind == Expr::Kind::kTuple);
    }
    case Expr::Kind::kDict: {
      auto d = std::make_shared<Dict>();
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        CHAT_ASSIGN_OR_RETURN(Value k, Eval(*e.args[i]));
        CHAT_ASSIGN_OR_RETURN(Value v, Eval(*e.args[i + 1]));
        d->Set(std::move(k), std::move(v));
      }
      return Value::MakeDict(std::move(d));
    }
    case Expr::Kind::kGetAttr: {
      CHAT_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0]));
      return GetAttr(obj, e.name);
    }
    case Expr::Kind::kGetItem: {
      CHAT_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0]));
      CHAT_ASSIGN_OR_RETURN(Value key, Eval(*e.args[1]));
      return GetItem(obj, key);
    }
    case Expr::Kind::kSlice: {
      CHAT_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0]));
      Value parts[3] = {Value::None(), Value::None(), Value::None()};
      for (int i = 0; i < 3; ++i) {
        if (e.args[i + 1]) { CHAT_ASSIGN_OR_RETURN(parts[i], Eval(*e.args[i + 1])); }
      }
      return EvalSlice(obj, parts[0], parts[1], parts[2]);
    }
    case Expr::Kind::kCall: {
      CHAT_ASSIGN_OR_RETURN(Value fn, Eval(*e.args[0]));
      CHAT_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, 1));
      CHAT_RETURN_IF_ERROR(Step());
      return Call(fn, std::move(args));
    }
    case Expr::Kind::kFilter: {
      CHAT_ASSIGN_OR_RETURN(Value v, Eval(*e.args[0]));
      CHAT_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, 1));
      return ApplyFilter(*this, e.name, std::move(v), std::move(args));
    }
    case Expr::Kind::kTest: {
      CHAT_ASSIGN_OR_RETURN(Value v, Eval(*e.args[0]));
      CHAT_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, 1));
      CHAT_ASSIGN_OR_RETURN(bool r, ApplyTest(*this, e.name, v, args));
      return Value::Bool(r != e.negated);
    }
    case Expr::Kind::kNeg:
    case Expr::Kind::kPos: {
      CHAT_ASSIGN_OR_RETURN(Value v, Eval(*e.args[0]));
      if (v.is_undefined()) return UndefinedError(v);
      if (!v.is_number()) {
        return absl::InvalidArgumentError(absl::StrCat("bad operand type for unary ",
                                                       e.kind == Expr::Kind::kNeg ? "-" : "+", ": '", v.TypeName(), "'"));
      }
      if (e.kind == Expr::Kind::kPos) return v.is_bool() ? Value::Int(v.int_value()) : v;
      if (v.is_float()) return Value::Float(-v.float_value());
      return CheckedInt(v.int_value() == INT64_MIN, -v.int_value());
    }
    case Expr::Kind::kNot: {
      CHAT_ASSIGN_OR_RETURN(Value v, Eval(*e.args[0]));
      return Value::Bool(!v.Truthy());
    }
    case Expr::Kind::kAnd:
    case Expr::Kind::kOr: {
      CHAT_ASSIGN_OR_RETURN(Value a, Eval(*e.args[0]));
      if (a.Truthy() == (e.kind == Expr::Kind::kOr)) return a;
      return Eval(*e.args[1]);
    }
    case Expr::Kind::kBinary: {
      CHAT_ASSIGN_OR_RETURN(Value a, Eval(*e.args[0]));
      CHAT_ASSIGN_OR_RETURN(Value b, Eval(*e.args[1]));
      return EvalBinary(e.name, a, b);
    }
    case Expr::Kind::kCompare: {
      CHAT_ASSIGN_OR_RETURN(Value left, Eval(*e.args[0]));
      for (size_t i = 0; i < e.ops.size(); ++i) {
        CHAT_ASSIGN_OR_RETURN(Value right, Eval(*e.args[i + 1]));
        CHAT_ASSIGN_OR_RETURN(bool r, EvalCompare(e.ops[i], left, right));
        if (!r) return Value::Bool(false);
        left = std::move(right);
      }
      return Value::Bool(true);
    }
    case Expr::Kind::kCaptured:
      return captured_.empty() ? Value::String("") : captured_.back();
    case Expr::Kind::kCondExpr: {
      CHAT_ASSIGN_OR_RETURN(Value c, Eval(*e.args[0]));
      if (c.Truthy()) return Eval(*e.args[1]);
      if (e.args[2]) return Eval(*e.args[2]);
      return Value::Undefined(absl::StrCat("the inline if-expression on line ", e.line,
                                           " evaluated to false and no else section was defined."));
    }
  }
  return absl::InternalError("unknown expression kind");
}

}  // namespace attnserve::chat
