// Python methods on str / dict / list values and the global functions (see builtins.h).
#include <ctime>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/chat/builtins.h"
#include "engine/chat/evaluator.h"
#include "engine/chat/py_string.h"
#include "engine/chat/status_macros.h"

namespace attnserve::chat {
namespace {

absl::Status TypeError(std::string msg) { return absl::InvalidArgumentError(std::move(msg)); }

std::optional<std::string> OptStr(const CallArgs& a, size_t pos) {
  if (pos >= a.positional.size() || a.positional[pos].is_none()) return std::nullopt;
  return a.positional[pos].ToString();
}

absl::StatusOr<std::string> StrArg(const CallArgs& a, size_t pos, const std::string& method) {
  if (pos >= a.positional.size() || !a.positional[pos].is_string()) {
    return TypeError(absl::StrCat("str.", method, "() needs a string argument"));
  }
  return a.positional[pos].str();
}

// str.format with {} / {0} / {name} fields (no format specs or conversions).
absl::StatusOr<std::string> Format(const std::string& fmt, const CallArgs& a) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') { out.push_back('{'); ++i; continue; }
    if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') { out.push_back('}'); ++i; continue; }
    if (c != '{') { out.push_back(c); continue; }
    const size_t end = fmt.find('}', i);
    if (end == std::string::npos) return TypeError("Single '{' encountered in format string");
    const std::string field = fmt.substr(i + 1, end - i - 1);
    if (field.find_first_of(":!.[") != std::string::npos) {
      return TypeError("unsupported construct: str.format field with a format spec or conversion");
    }
    const Value* v = nullptr;
    if (field.empty() || std::isdigit(static_cast<unsigned char>(field[0]))) {
      const size_t idx = field.empty() ? auto_index++ : static_cast<size_t>(std::stoul(field));
      if (idx < a.positional.size()) v = &a.positional[idx];
    } else {
      for (const auto& [k, kv] : a.keyword) if (k == field) v = &kv;
    }
    if (!v) return TypeError(absl::StrCat("str.format: no argument for field '{", field, "}'"));
    out += v->ToString();
    i = end;
  }
  return out;
}

absl::StatusOr<Value> StrMethod(Interpreter& in, const std::string& s, const std::string& m, const CallArgs& a) {
  if (m == "startswith" || m == "endswith") {
    if (a.positional.empty()) return TypeError(absl::StrCat("str.", m, "() takes at least 1 argument"));
    ValueList options = a.positional[0].is_list() ? a.positional[0].list() : ValueList{a.positional[0]};
    for (const Value& o : options) {
      if (!o.is_string()) return TypeError(absl::StrCat("str.", m, "() needs str arguments"));
      const std::string& p = o.str();
      if (m == "startswith" ? s.compare(0, p.size(), p) == 0
                            : (s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0)) {
        return Value::Bool(true);
      }
    }
    return Value::Bool(false);
  }
  if (m == "strip" || m == "lstrip" || m == "rstrip") {
    return Value::String(py::Strip(s, OptStr(a, 0), m != "rstrip", m != "lstrip"));
  }
  if (m == "split" || m == "rsplit") {
    std::optional<std::string> sep = OptStr(a, 0);
    int64_t maxsplit = a.positional.size() > 1 ? a.positional[1].int_value() : -1;
    for (const auto& [k, v] : a.keyword) {
      if (k == "sep" && !v.is_none()) sep = v.ToString();
      if (k == "maxsplit") maxsplit = v.int_value();
    }
    if (sep && sep->empty()) return TypeError("empty separator");
    ValueList out;
    for (auto& part : py::Split(s, sep, maxsplit, m == "rsplit")) out.push_back(Value::String(std::move(part)));
    return Value::List(std::move(out));
  }
  if (m == "splitlines") {
    ValueList out;
    std::string cur;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n' || s[i] == '\r') {
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        out.push_back(Value::String(std::exchange(cur, {})));
      } else {
        cur.push_back(s[i]);
      }
    }
    if (!cur.empty()) out.push_back(Value::String(cur));
    return Value::List(std::move(out));
  }
  if (m == "upper") return Value::String(py::Upper(s));
  if (m == "lower") return Value::String(py::Lower(s));
  if (m == "title") return Value::String(py::TitleMethod(s));
  if (m == "capitalize") return Value::String(py::Capitalize(s));
  if (m == "replace") {
    CHAT_ASSIGN_OR_RETURN(std::string old, StrArg(a, 0, m));
    CHAT_ASSIGN_OR_RETURN(std::string with, StrArg(a, 1, m));
    const int64_t count = a.positional.size() > 2 ? a.positional[2].int_value() : -1;
    std::string r = py::Replace(s, old, with, count);
    CHAT_RETURN_IF_ERROR(in.CheckSize(r.size()));
    return Value::String(std::move(r));
  }
  if (m == "find" || m == "rfind" || m == "index" || m == "rindex" || m == "count") {
    CHAT_ASSIGN_OR_RETURN(std::string sub, StrArg(a, 0, m));
    if (m == "count") {
      if (sub.empty()) return Value::Int(py::Length(s) + 1);
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value::Int(n);
    }
    const size_t p = (m == "find" || m == "index") ? s.find(sub) : s.rfind(sub);
    if (p == std::string::npos) {
      if (m == "index" || m == "rindex") return TypeError("substring not found");
      return Value::Int(-1);
    }
    return Value::Int(py::Length(std::string_view(s).substr(0, p)));
  }
  if (m == "join") {
    if (a.positional.empty()) return TypeError("str.join() takes exactly one argument");
    CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(a.positional[0]));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) return TypeError(absl::StrCat("sequence item ", i, ": expected str instance"));
      if (i) out += s;
      out += items[i].str();
    }
    return Value::String(std::move(out));
  }
  if (m == "format") {
    CHAT_ASSIGN_OR_RETURN(std::string out, Format(s, a));
    return Value::String(std::move(out));
  }
  if (m == "removeprefix" || m == "removesuffix") {
    CHAT_ASSIGN_OR_RETURN(std::string x, StrArg(a, 0, m));
    if (m == "removeprefix" && s.compare(0, x.size(), x) == 0) return Value::String(s.substr(x.size()));
    if (m == "removesuffix" && !x.empty() && s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0) {
      return Value::String(s.substr(0, s.size() - x.size()));
    }
    return Value::String(s);
  }
  const std::u32string u = py::Decode(s);
  auto all = [&](auto pred) {
    if (u.empty()) return Value::Bool(false);
    for (char32_t c : u) if (!pred(c)) return Value::Bool(false);
    return Value::Bool(true);
  };
  if (m == "isdigit") return all([](char32_t c) { return c >= '0' && c <= '9'; });
  if (m == "isalpha") return all([](char32_t c) { return c >= 0x80 || std::isalpha(static_cast<int>(c)); });
  if (m == "isalnum") return all([](char32_t c) { return c >= 0x80 || std::isalnum(static_cast<int>(c)); });
  if (m == "isspace") return all([](char32_t c) { return py::IsSpace(c); });
  if (m == "isupper") return Value::Bool(py::IsUpper(s));
  if (m == "islower") return Value::Bool(py::IsLower(s));
  return TypeError(absl::StrCat("'str' object has no attribute '", m, "'"));
}

absl::StatusOr<Value> DictMethod(const Value& d, const std::string& m, const CallArgs& a) {
  if (m == "items" || m == "keys" || m == "values") {
    ValueList out;
    for (const auto& [k, v] : d.dict().items) {
      out.push_back(m == "items" ? Value::List({k, v}, true) : m == "keys" ? k : v);
    }
    return Value::List(std::move(out));
  }
  if (m == "get") {
    if (a.positional.empty()) return TypeError("get expected at least 1 argument");
    if (const Value* v = d.dict().Find(a.positional[0])) return *v;
    return a.positional.size() > 1 ? a.positional[1] : Value::None();
  }
  if (m == "copy") return Value::MakeDict(std::make_shared<Dict>(d.dict()));
  return TypeError(absl::StrCat("'dict' object has no attribute '", m, "'"));
}

absl::StatusOr<Value> ListMethod(const Value& l, const std::string& m, const CallArgs& a) {
  if (m == "index" || m == "count") {
    if (a.positional.empty()) return TypeError(absl::StrCat("list.", m, "() takes an argument"));
    int64_t n = 0;
    for (size_t i = 0; i < l.list().size(); ++i) {
      if (!Equals(l.list()[i], a.positional[0])) continue;
      if (m == "index") return Value::Int(static_cast<int64_t>(i));
      ++n;
    }
    if (m == "index") return TypeError(absl::StrCat(a.positional[0].Repr(), " is not in list"));
    return Value::Int(n);
  }
  if (m == "copy") return Value::List(l.list());
  return TypeError(absl::StrCat("'list' object has no attribute '", m, "'"));
}

const std::set<std::string, std::less<>> kStrMethods = {
    "startswith", "endswith", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines",
    "upper", "lower", "title", "capitalize", "replace", "find", "rfind", "index", "rindex",
    "count", "join", "format", "removeprefix", "removesuffix", "isdigit", "isalpha", "isalnum",
    "isspace", "isupper", "islower"};
const std::set<std::string, std::less<>> kDictMethods = {"items", "keys", "values", "get", "copy"};
const std::set<std::string, std::less<>> kDictUnsafe = {"clear", "pop", "popitem", "setdefault", "update"};
const std::set<std::string, std::less<>> kListMethods = {"index", "count", "copy"};
const std::set<std::string, std::less<>> kListUnsafe = {"append", "clear", "extend", "insert", "pop",
                                                         "remove", "reverse", "sort"};

class BoundMethod : public Callable {
 public:
  BoundMethod(Value self, std::string name, bool unsafe)
      : self_(std::move(self)), name_(std::move(name)), unsafe_(unsafe) {}
  absl::StatusOr<Value> Call(Interpreter& in, CallArgs args) const override {
    if (unsafe_) {
      return absl::PermissionDeniedError(absl::StrCat("access to attribute '", name_, "' of '",
                                                      self_.is_list() ? "list" : "dict", "' object is unsafe."));
    }
    if (self_.is_string()) return StrMethod(in, self_.str(), name_, args);
    if (self_.is_dict()) return DictMethod(self_, name_, args);
    return ListMethod(self_, name_, args);
  }
  std::string Repr() const override {
    return absl::StrCat("<built-in method ", name_, " of ", self_.TypeName(), ">");
  }

 private:
  Value self_;
  std::string name_;
  bool unsafe_;
};

// ---- globals ----

class Builtin : public Callable {
 public:
  using Fn = absl::StatusOr<Value> (*)(Interpreter&, CallArgs&, int64_t);
  Builtin(std::string name, Fn fn, int64_t now = 0) : name_(std::move(name)), fn_(fn), now_(now) {}
  absl::StatusOr<Value> Call(Interpreter& in, CallArgs args) const override { return fn_(in, args, now_); }
  std::string Repr() const override { return absl::StrCat("<function ", name_, ">"); }

 private:
  std::string name_;
  Fn fn_;
  int64_t now_;
};

absl::StatusOr<Value> Range(Interpreter&, CallArgs& a, int64_t) {
  int64_t start = 0, stop = 0, step = 1;
  for (const Value& v : a.positional) {
    if (!v.is_int() && !v.is_bool()) return TypeError("range() arguments must be integers");
  }
  switch (a.positional.size()) {
    case 1: stop = a.positional[0].int_value(); break;
    case 2: start = a.positional[0].int_value(); stop = a.positional[1].int_value(); break;
    case 3:
      start = a.positional[0].int_value();
      stop = a.positional[1].int_value();
      step = a.positional[2].int_value();
      break;
    default: return TypeError("range expected 1 to 3 integer arguments");
  }
  if (step == 0) return TypeError("range() arg 3 must not be zero");
  const int64_t n = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                             : (start > stop ? (start - stop - step - 1) / -step : 0);
  if (n > 100000) {
    return absl::ResourceExhaustedError(
        "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  }
  ValueList out;
  for (int64_t i = 0; i < n; ++i) out.push_back(Value::Int(start + i * step));
  return Value::List(std::move(out));
}

absl::StatusOr<Value> MakeMapping(Interpreter& in, CallArgs& a, Value::DictFlavor flavor) {
  auto d = std::make_shared<Dict>();
  if (!a.positional.empty()) {
    if (a.positional.size() > 1 || !a.positional[0].is_dict()) {
      return TypeError("namespace()/dict() take at most one mapping argument");
    }
    *d = a.positional[0].dict();
  }
  for (auto& [k, v] : a.keyword) d->Set(Value::String(k), v);
  if (flavor == Value::DictFlavor::kNamespace) {
    for (const auto& [k, v] : d->items) CHAT_RETURN_IF_ERROR(in.CheckNamespaceValue(v, "namespace(" + k.ToString() + "=...)"));
  }
  return Value::MakeDict(std::move(d), flavor);
}

absl::StatusOr<Value> Namespace(Interpreter& in, CallArgs& a, int64_t) {
  return MakeMapping(in, a, Value::DictFlavor::kNamespace);
}
absl::StatusOr<Value> DictFn(Interpreter& in, CallArgs& a, int64_t) {
  return MakeMapping(in, a, Value::DictFlavor::kPlain);
}

absl::StatusOr<Value> RaiseException(Interpreter&, CallArgs& a, int64_t) {
  absl::Status s = absl::InvalidArgumentError(a.positional.empty() ? "" : a.positional[0].ToString());
  s.SetPayload(kRaiseExceptionPayload, absl::Cord("1"));
  return s;
}

absl::StatusOr<Value> StrftimeNow(Interpreter&, CallArgs& a, int64_t now) {
  if (a.positional.empty() || !a.positional[0].is_string()) return TypeError("strftime_now(format) needs a string");
  const time_t t = static_cast<time_t>(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[512];
  const size_t n = std::strftime(buf, sizeof(buf), a.positional[0].str().c_str(), &tm);
  return Value::String(std::string(buf, n));
}

}  // namespace

std::optional<Value> BindMethod(const Value& obj, std::string_view name) {
  const std::string n(name);
  if (obj.is_string() && kStrMethods.count(n)) return Value::Function(std::make_shared<BoundMethod>(obj, n, false));
  if (obj.is_plain_dict() && (kDictMethods.count(n) || kDictUnsafe.count(n))) {
    return Value::Function(std::make_shared<BoundMethod>(obj, n, kDictUnsafe.count(n) > 0));
  }
  if (obj.is_list() && (kListMethods.count(n) || kListUnsafe.count(n))) {
    return Value::Function(std::make_shared<BoundMethod>(obj, n, kListUnsafe.count(n) > 0));
  }
  return std::nullopt;
}

void AddGlobals(Dict& globals, int64_t now_unix_seconds) {
  auto add = [&](const char* name, Builtin::Fn fn) {
    globals.Set(Value::String(name), Value::Function(std::make_shared<Builtin>(name, fn, now_unix_seconds)));
  };
  add("range", Range);
  add("namespace", Namespace);
  add("dict", DictFn);
  add("raise_exception", RaiseException);
  add("strftime_now", StrftimeNow);
}

}  // namespace attnserve::chat
