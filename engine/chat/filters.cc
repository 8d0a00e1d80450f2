// Filters and tests (see builtins.h), with jinja2 3.1's semantics; `tojson` is transformers'
// override: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "engine/chat/builtins.h"
#include "engine/chat/evaluator.h"
#include "engine/chat/py_string.h"
#include "engine/chat/status_macros.h"

namespace attnserve::chat {
namespace {

// Positional-or-keyword argument access (positions exclude the filtered value).
struct Args {
  const CallArgs& a;
  const Value* Get(size_t pos, std::string_view name) const {
    if (pos < a.positional.size()) return &a.positional[pos];
    for (const auto& [k, v] : a.keyword) {
      if (k == name) return &v;
    }
    return nullptr;
  }
  Value Or(size_t pos, std::string_view name, Value dflt) const {
    const Value* v = Get(pos, name);
    return v ? *v : std::move(dflt);
  }
  bool Flag(size_t pos, std::string_view name, bool dflt) const {
    const Value* v = Get(pos, name);
    return v ? v->Truthy() : dflt;
  }
};

absl::Status TypeError(std::string msg) { return absl::InvalidArgumentError(std::move(msg)); }

// jinja's make_attrgetter: "a.b.0" walks getitem on each part (digits become ints).
absl::StatusOr<Value> GetPath(Interpreter& in, const Value& item, const Value& attribute) {
  if (!attribute.is_string()) return in.GetItem(item, attribute);
  Value cur = item;
  for (const std::string& part : py::Split(attribute.str(), std::string("."), -1, false)) {
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    CHAT_ASSIGN_OR_RETURN(cur, in.GetItem(cur, digits ? Value::Int(std::stoll(part)) : Value::String(part)));
  }
  return cur;
}

Value SortKey(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::String(py::Lower(v.str()));
  return v;
}

absl::Status StableSortBy(std::vector<std::pair<Value, Value>>& keyed, bool reverse) {
  absl::Status err;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    auto lt = reverse ? LessThan(y.first, x.first) : LessThan(x.first, y.first);
    if (!lt.ok()) {
      err = lt.status();
      return false;
    }
    return *lt;
  });
  return err;
}

absl::StatusOr<int64_t> Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return 0;
    case Value::Kind::kString: return py::Length(v.str());
    case Value::Kind::kList: return static_cast<int64_t>(v.list().size());
    case Value::Kind::kDict: return static_cast<int64_t>(v.dict().items.size());
    default: return TypeError(absl::StrCat("object of type '", v.TypeName(), "' has no len()"));
  }
}

// select/reject/selectattr/rejectattr.
absl::StatusOr<Value> Select(Interpreter& in, const Value& seq, const CallArgs& args, bool with_attr,
                             bool keep_when) {
  CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(seq));
  size_t next = 0;
  Value attribute;
  if (with_attr) {
    if (args.positional.empty()) return TypeError("selectattr/rejectattr need an attribute name");
    attribute = args.positional[next++];
  }
  std::string test;
  CallArgs test_args;
  if (next < args.positional.size()) {
    test = args.positional[next++].ToString();
    test_args.positional.assign(args.positional.begin() + static_cast<long>(next), args.positional.end());
    test_args.keyword = args.keyword;
    if (!IsTest(test)) return TypeError(absl::StrCat("unsupported test '", test, "'"));
  }
  ValueList out;
  for (const Value& item : items) {
    Value subject = item;
    if (with_attr) { CHAT_ASSIGN_OR_RETURN(subject, GetPath(in, item, attribute)); }
    bool r;
    if (test.empty()) {
      r = subject.Truthy();
    } else {
      CHAT_ASSIGN_OR_RETURN(r, ApplyTest(in, test, subject, test_args));
    }
    if (r == keep_when) out.push_back(item);
  }
  return Value::List(std::move(out));
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> lines;
  std::string cur;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      lines.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(s[i]);
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}

// Python's round(x, ndigits): the exact binary value rounded half-even to ndigits decimals
// (round(2.675, 2) == 2.67), which is what printf's correctly rounded "%.*f" gives.
double PyRound(double x, int64_t ndigits) {
  if (!std::isfinite(x)) return x;
  if (ndigits < 0) {
    const double scale = std::pow(10.0, static_cast<double>(-ndigits));
    return std::nearbyint(x / scale) * scale;
  }
  char buf[400];
  std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(std::min<int64_t>(ndigits, 300)), x);
  return std::strtod(buf, nullptr);
}

using FilterFn = std::function<absl::StatusOr<Value>(Interpreter&, Value, const Args&)>;

const std::map<std::string, FilterFn, std::less<>>& Filters() {
  static const auto* table = new std::map<std::string, FilterFn, std::less<>>{
      {"abs", [](Interpreter&, Value v, const Args&) -> absl::StatusOr<Value> {
         if (v.is_float()) return Value::Float(std::fabs(v.float_value()));
         if (v.is_int() || v.is_bool()) return Value::Int(std::llabs(v.int_value()));
         return TypeError(absl::StrCat("bad operand type for abs(): '", v.TypeName(), "'"));
       }},
      {"batch", [](Interpreter& in, Value v, const Args& a) -> absl::StatusOr<Value> {
         const Value* n = a.Get(0, "linecount");
         if (!n || !n->is_int() || n->int_value() <= 0) return TypeError("batch needs a positive linecount");
         const Value* fill = a.Get(1, "fill_with");
         CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(v));
         ValueList out, cur;
         for (Value& item : items) {
           cur.push_back(std::move(item));
           if (static_cast<int64_t>(cur.size()) == n->int_value()) out.push_back(Value::List(std::exchange(cur, {})));
         }
         if (!cur.empty()) {
           if (fill && !fill->is_none()) while (static_cast<int64_t>(cur.size()) < n->int_value()) cur.push_back(*fill);
           out.push_back(Value::List(std::move(cur)));
         }
         return Value::List(std::move(out));
       }},
      {"capitalize", [](Interpreter&, Value v, const Args&) -> absl::StatusOr<Value> {
         return Value::String(py::Capitalize(v.ToString()));
       }},
      {"center", [](Interpreter&, Value v, const Args& a) -> absl::StatusOr<Value> {
         const int64_t width = a.Or(0, "width", Value::Int(80)).int_value();
         const std::string s = v.ToString();
         const int64_t len = py::Length(s);
         if (len >= width) return Value::String(s);
         const int64_t pad = width - len;
         const int64_t left = pad / 2 + (pad & width & 1);
         return Value::String(std::string(static_cast<size_t>(left), ' ') + s +
                              std::string(static_cast<size_t>(pad - left), ' '));
       }},
      {"default", [](Interpreter&, Value v, const Args& a) -> absl::StatusOr<Value> {
         const bool boolean = a.Flag(1, "boolean", false);
         if (v.is_undefined() || (boolean && !v.Truthy())) return a.Or(0, "default_value", Value::String(""));
         return v;
       }},
      {"dictsort", [](Interpreter&, Value v, const Args& a) -> absl::StatusOr<Value> {
         if (!v.is_dict()) return TypeError("can only dictsort a mapping");
         const bool cs = a.Flag(0, "case_sensitive", false);
         const std::string by = a.Or(1, "by", Value::String("key")).ToString();
         const bool reverse = a.Flag(2, "reverse", false);
         std::vector<std::pair<Value, Value>> keyed;
         for (const auto& [k, val] : v.dict().items) {
           keyed.emplace_back(SortKey(by == "value" ? val : k, cs), Value::List({k, val}, true));
         }
         CHAT_RETURN_IF_ERROR(StableSortBy(keyed, reverse));
         ValueList out;
         for (auto& kv : keyed) out.push_back(std::move(kv.second));
         return Value::List(std::move(out));
       }},
      {"escape", [](Interpreter&, Value v, const Args&) -> absl::StatusOr<Value> {
         std::string out;
         for (char c : v.ToString()) {
           switch (c) {
             case '&': out += "&amp;"; break;
             case '<': out += "&lt;"; break;
             case '>': out += "&gt;"; break;
             case '"': out += "&#34;"; break;
             case '\'': out += "&#39;"; break;
             default: out.push_back(c);
           }
         }
         return Value::String(std::move(out));
       }},
      {"first", [](Interpreter& in, Value v, const Args&) -> absl::StatusOr<Value> {
         CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(v));
         if (items.empty()) return Value::Undefined("No first item, sequence was empty.");
         return items.front();
       }},
      {"float", [](Interpreter&, Value v, const Args& a) -> absl::StatusOr<Value> {
         if (v.is_number()) return Value::Float(v.float_value());
         if (v.is_string()) {
           const std::string s = py::Strip(v.str(), std::nullopt, true, true);
           char* end = nullptr;
           const double d = std::strtod(s.c_str(), &end);
           if (!s.empty() && end == s.c_str() + s.size()) return Value::Float(d);
         }
         return a.Or(0, "default", Value::Float(0.0));
       }},
      {"indent", [](Interpreter&, Value v, const Args& a) -> absl::StatusOr<Value> {
         const Value w = a.Or(0, "width", Value::Int(4));
         const std::string ind = w.is_string() ? w.str() : std::string(static_cast<size_t>(std::max<int64_t>(0, w.int_value())), ' ');
         const bool first = a.Flag(1, "first", false);
         const bool blank = a.Flag(2, "blank", false);
         std::vector<std::string> lines = SplitLines(v.ToString() + "\n");
         std::string rv;
         for (size_t i = 0; i < lines.size(); ++i) {
           if (i == 0) { rv = lines[0]; continue; }
           rv += "\n";
           if (blank || !lines[i].empty()) rv += ind;
           rv += lines[i];
         }
         if (first) rv = ind + rv;
         return Value::String(std::move(rv));
       }},
      {"int", [](Interpreter&, Value v, const Args& a) -> absl::StatusOr<Value> {
         if (v.is_int() || v.is_bool()) return Value::Int(v.int_value());
         if (v.is_float()) return Value::Int(static_cast<int64_t>(std::trunc(v.float_value())));
         if (v.is_string()) {
           const std::string s = py::Strip(v.str(), std::nullopt, true, true);
           const int base = static_cast<int>(a.Or(1, "base", Value::Int(10)).int_value());
           char* end = nullptr;
           errno = 0;
           const long long i = std::strtoll(s.c_str(), &end, base);
           if (!s.empty() && end == s.c_str() + s.size() && errno == 0) return Value::Int(i);
           const double d = std::strtod(s.c_str(), &end);
           if (!s.empty() && end == s.c_str() + s.size()) return Value::Int(static_cast<int64_t>(std::trunc(d)));
         }
         return a.Or(0, "default", Value::Int(0));
       }},
      {"items", [](Interpreter&, Value v, const Args&) -> absl::StatusOr<Value> {
         if (v.is_undefined()) return Value::List({});
         if (!v.is_dict()) return TypeError("Can only get item pairs from a mapping.");
         ValueList out;
         for (const auto& [k, val] : v.dict().items) out.push_back(Value::List({k, val}, true));
         return Value::List(std::move(out));
       }},
      {"join", [](Interpreter& in, Value v, const Args& a) -> absl::StatusOr<Value> {
         const std::string sep = a.Or(0, "d", Value::String("")).ToString();
         const Value* attribute = a.Get(1, "attribute");
         CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(v));
         std::string out;
         for (size_t i = 0; i < items.size(); ++i) {
           if (i) out += sep;
           Value item = items[i];
           if (attribute) { CHAT_ASSIGN_OR_RETURN(item, GetPath(in, item, *attribute)); }
           out += item.ToString();
           CHAT_RETURN_IF_ERROR(in.CheckSize(out.size()));
         }
         return Value::String(std::move(out));
       }},
      {"last", [](Interpreter& in, Value v, const Args&) -> absl::StatusOr<Value> {
         CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(v));
         if (items.empty()) return Value::Undefined("No last item, sequence was empty.");
         return items.back();
       }},
      {"length", [](Interpreter&, Value v, const Args&) -> absl::StatusOr<Value> {
         CHAT_ASSIGN_OR_RETURN(int64_t n, Length(v));
         return Value::Int(n);
       }},
      {"list", [](Interpreter& in, Value v, const Args&) -> absl::StatusOr<Value> {
         CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(v));
         return Value::List(std::move(items));
       }},
      {"lower", [](Interpreter&, Value v, const Args&) -> absl::StatusOr<Value> {
         return Value::String(py::Lower(v.ToString()));
       }},
      {"map", [](Interpreter& in, Value v, const Args& a) -> absl::StatusOr<Value> {
         CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(v));
         ValueList out;
         const Value* attribute = a.Get(99, "attribute");
         if (attribute) {
           const Value* dflt = a.Get(99, "default");
           for (const Value& item : items) {
             CHAT_ASSIGN_OR_RETURN(Value x, GetPath(in, item, *attribute));
             out.push_back(x.is_undefined() && dflt ? *dflt : x);
           }
           return Value::List(std::move(out));
         }
         if (a.a.positional.empty()) return TypeError("map requires a filter argument");
         const std::string filter = a.a.positional[0].ToString();
         if (!IsFilter(filter)) return TypeError(absl::StrCat("unsupported filter '", filter, "'"));
         for (const Value& item : items) {
           CallArgs fa;
           fa.positional.assign(a.a.positional.begin() + 1, a.a.positional.end());
           fa.keyword = a.a.keyword;
           CHAT_ASSIGN_OR_RETURN(Value x, ApplyFilter(in, filter, item, std::move(fa)));
           out.push_back(std::move(x));
         }
         return Value::List(std::move(out));
       }},
      {"max", [](Interpreter& in, Value v, const Args& a) -> absl::StatusOr<Value> {
         CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(v));
         if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
         const bool cs = a.Flag(0, "case_sensitive", false);
         Value best = items[0];
         for (const Value& x : items) {
           CHAT_ASSIGN_OR_RETURN(bool lt, LessThan(SortKey(best, cs), SortKey(x, cs)));
           if (lt) best = x;
         }
         return best;
       }},
      {"min", [](Interpreter& in, Value v, const Args& a) -> absl::StatusOr<Value> {
         CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(v));
         if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
         const bool cs = a.Flag(0, "case_sensitive", false);
         Value best = items[0];
         for (const Value& x : items) {
           CHAT_ASSIGN_OR_RETURN(bool lt, LessThan(SortKey(x, cs), SortKey(best, cs)));
           if (lt) best = x;
         }
         return best;
       }},
      {"reject", [](Interpreter& in, Value v, const Args& a) { return Select(in, v, a.a, false, false); }},
      {"rejectattr", [](Interpreter& in, Value v, const Args& a) { return Select(in, v, a.a, true, false); }},
      {"replace", [](Interpreter&, Value v, const Args& a) -> absl::StatusOr<Value> {
         const Value* old = a.Get(0, "old");
         const Value* with = a.Get(1, "new");
         if (!old || !with) return TypeError("replace needs old and new");
         const Value count = a.Or(2, "count", Value::None());
         return Value::String(py::Replace(v.ToString(), old->ToString(), with->ToString(),
                                          count.is_none() ? -1 : count.int_value()));
       }},
      {"reverse", [](Interpreter& in, Value v, const Args&) -> absl::StatusOr<Value> {
         if (v.is_string()) {
           std::u32string u = py::Decode(v.str());
           std::reverse(u.begin(), u.end());
           return Value::String(py::Encode(u));
         }
         CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(v));
         std::reverse(items.begin(), items.end());
         return Value::List(std::move(items));
       }},
      {"round", [](Interpreter&, Value v, const Args& a) -> absl::StatusOr<Value> {
         const int64_t precision = a.Or(0, "precision", Value::Int(0)).int_value();
         const std::string method = a.Or(1, "method", Value::String("common")).ToString();
         if (!v.is_number()) return TypeError("round needs a number");
         const double scale = std::pow(10.0, static_cast<double>(precision));
         if (method == "common") {
           if (!v.is_float()) return Value::Int(v.int_value());
           return Value::Float(PyRound(v.float_value(), precision));
         }
         if (method == "floor") return Value::Float(std::floor(v.float_value() * scale) / scale);
         if (method == "ceil") return Value::Float(std::ceil(v.float_value() * scale) / scale);
         return TypeError("method must be common, ceil or floor");
       }},
      {"safe", [](Interpreter&, Value v, const Args&) -> absl::StatusOr<Value> { return v; }},
      {"select", [](Interpreter& in, Value v, const Args& a) { return Select(in, v, a.a, false, true); }},
      {"selectattr", [](Interpreter& in, Value v, const Args& a) { return Select(in, v, a.a, true, true); }},
      {"sort", [](Interpreter& in, Value v, const Args& a) -> absl::StatusOr<Value> {
         const bool reverse = a.Flag(0, "reverse", false);
         const bool cs = a.Flag(1, "case_sensitive", false);
         const Value* attribute = a.Get(2, "attribute");
         CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(v));
         std::vector<std::pair<Value, Value>> keyed;
         for (Value& item : items) {
           Value key = item;
           if (attribute) { CHAT_ASSIGN_OR_RETURN(key, GetPath(in, item, *attribute)); }
           keyed.emplace_back(SortKey(key, cs), std::move(item));
         }
         CHAT_RETURN_IF_ERROR(StableSortBy(keyed, reverse));
         ValueList out;
         for (auto& kv : keyed) out.push_back(std::move(kv.second));
         return Value::List(std::move(out));
       }},
      {"string", [](Interpreter&, Value v, const Args&) -> absl::StatusOr<Value> {
         return Value::String(v.ToString());
       }},
      {"sum", [](Interpreter& in, Value v, const Args& a) -> absl::StatusOr<Value> {
         const Value* attribute = a.Get(0, "attribute");
         Value total = a.Or(1, "start", Value::Int(0));
         CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(v));
         for (Value& item : items) {
           if (attribute) { CHAT_ASSIGN_OR_RETURN(item, GetPath(in, item, *attribute)); }
           if (!item.is_number() || !total.is_number()) return TypeError("sum needs numbers");
           total = (item.is_float() || total.is_float()) ? Value::Float(total.float_value() + item.float_value())
                                                         : Value::Int(total.int_value() + item.int_value());
         }
         return total;
       }},
      {"title", [](Interpreter&, Value v, const Args&) -> absl::StatusOr<Value> {
         return Value::String(py::TitleFilter(v.ToString()));
       }},
      {"tojson", [](Interpreter&, Value v, const Args& a) -> absl::StatusOr<Value> {
         JsonFormat f;
         f.ensure_ascii = a.Flag(0, "ensure_ascii", false);
         const Value indent = a.Or(1, "indent", Value::None());
         if (indent.is_string()) f.indent = indent.str();
         else if (indent.is_int()) f.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, indent.int_value())), ' ');
         else if (!indent.is_none()) return TypeError("tojson: indent must be an int, a str or None");
         const Value seps = a.Or(2, "separators", Value::None());
         if (seps.is_list() && seps.list().size() == 2) {
           f.item_sep = seps.list()[0].ToString();
           f.key_sep = seps.list()[1].ToString();
         } else if (!seps.is_none()) {
           return TypeError("tojson: separators must be an (item_separator, key_separator) pair");
         }
         f.sort_keys = a.Flag(3, "sort_keys", false);
         CHAT_ASSIGN_OR_RETURN(std::string s, ToJson(v, f));
         return Value::String(std::move(s));
       }},
      {"trim", [](Interpreter&, Value v, const Args& a) -> absl::StatusOr<Value> {
         const Value chars = a.Or(0, "chars", Value::None());
         std::optional<std::string> set;
         if (!chars.is_none() && !chars.is_undefined()) set = chars.ToString();
         return Value::String(py::Strip(v.ToString(), set, true, true));
       }},
      {"unique", [](Interpreter& in, Value v, const Args& a) -> absl::StatusOr<Value> {
         const bool cs = a.Flag(0, "case_sensitive", false);
         const Value* attribute = a.Get(1, "attribute");
         CHAT_ASSIGN_OR_RETURN(ValueList items, in.Iterate(v));
         ValueList out, seen;
         for (Value& item : items) {
           Value key = item;
           if (attribute) { CHAT_ASSIGN_OR_RETURN(key, GetPath(in, item, *attribute)); }
           key = SortKey(key, cs);
           bool dup = false;
           for (const Value& s : seen) dup |= Equals(s, key);
           if (dup) continue;
           seen.push_back(key);
           out.push_back(std::move(item));
         }
         return Value::List(std::move(out));
       }},
      {"upper", [](Interpreter&, Value v, const Args&) -> absl::StatusOr<Value> {
         return Value::String(py::Upper(v.ToString()));
       }},
      {"wordcount", [](Interpreter&, Value v, const Args&) -> absl::StatusOr<Value> {
         int64_t n = 0;
         bool in_word = false;
         for (char32_t c : py::Decode(v.ToString())) {
           const bool w = c == '_' || (c < 0x80 ? std::isalnum(static_cast<int>(c)) != 0 : !py::IsSpace(c));
           if (w && !in_word) ++n;
           in_word = w;
         }
         return Value::Int(n);
       }},
  };
  return *table;
}

std::string_view Canonical(std::string_view name) {
  if (name == "d") return "default";
  if (name == "e") return "escape";
  if (name == "count") return "length";
  return name;
}

using TestFn = std::function<absl::StatusOr<bool>(Interpreter&, const Value&, const CallArgs&)>;

absl::StatusOr<const Value*> Arg0(const CallArgs& a, const std::string& test) {
  if (a.positional.empty()) return TypeError(absl::StrCat("test '", std::string(test), "' needs an argument"));
  return &a.positional[0];
}

TestFn Comparison(const char* op) {
  return [op](Interpreter&, const Value& v, const CallArgs& a) -> absl::StatusOr<bool> {
    CHAT_ASSIGN_OR_RETURN(const Value* other, Arg0(a, op));
    const std::string o = op;
    if (o == "==") return Equals(v, *other);
    if (o == "!=") return !Equals(v, *other);
    if (o == "<") return LessThan(v, *other);
    if (o == ">") return LessThan(*other, v);
    CHAT_ASSIGN_OR_RETURN(bool r, o == "<=" ? LessThan(*other, v) : LessThan(v, *other));
    return !r;
  };
}

const std::map<std::string, TestFn, std::less<>>& Tests() {
  using V = const Value&;
  using A = const CallArgs&;
  static const auto* table = new std::map<std::string, TestFn, std::less<>>{
      {"defined", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return !v.is_undefined(); }},
      {"undefined", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return v.is_undefined(); }},
      {"none", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return v.is_none(); }},
      {"boolean", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return v.is_bool(); }},
      {"true", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return v.is_bool() && v.bool_value(); }},
      {"false", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return v.is_bool() && !v.bool_value(); }},
      {"integer", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return v.is_int(); }},
      {"float", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return v.is_float(); }},
      {"number", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return v.is_number(); }},
      {"string", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return v.is_string(); }},
      {"mapping", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return v.is_plain_dict(); }},
      {"iterable", [](Interpreter&, V v, A) -> absl::StatusOr<bool> {
         return v.is_undefined() || v.is_string() || v.is_list() || v.is_plain_dict();
       }},
      {"sequence", [](Interpreter&, V v, A) -> absl::StatusOr<bool> {
         return v.is_undefined() || v.is_string() || v.is_list() || v.is_plain_dict();
       }},
      {"callable", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return v.is_callable(); }},
      {"sameas", [](Interpreter&, V v, A a) -> absl::StatusOr<bool> {
         CHAT_ASSIGN_OR_RETURN(const Value* other, Arg0(a, "sameas"));
         if (v.kind() != other->kind()) return false;
         if (v.is_none() || v.is_undefined()) return true;
         if (v.is_bool()) return v.bool_value() == other->bool_value();
         if (v.is_list()) return v.list_ptr() == other->list_ptr();
         if (v.is_dict()) return &v.dict() == &other->dict();
         return Equals(v, *other);
       }},
      {"even", [](Interpreter&, V v, A) -> absl::StatusOr<bool> {
         if (!v.is_int() && !v.is_bool()) return TypeError("test 'even' needs an integer");
         return v.int_value() % 2 == 0;
       }},
      {"odd", [](Interpreter&, V v, A) -> absl::StatusOr<bool> {
         if (!v.is_int() && !v.is_bool()) return TypeError("test 'odd' needs an integer");
         return v.int_value() % 2 != 0;
       }},
      {"divisibleby", [](Interpreter&, V v, A a) -> absl::StatusOr<bool> {
         CHAT_ASSIGN_OR_RETURN(const Value* n, Arg0(a, "divisibleby"));
         if (!v.is_int() || !n->is_int() || n->int_value() == 0) return TypeError("divisibleby needs non-zero integers");
         return v.int_value() % n->int_value() == 0;
       }},
      {"in", [](Interpreter&, V v, A a) -> absl::StatusOr<bool> {
         CHAT_ASSIGN_OR_RETURN(const Value* seq, Arg0(a, "in"));
         if (seq->is_string()) return v.is_string() && seq->str().find(v.str()) != std::string::npos;
         if (seq->is_dict()) return seq->dict().Find(v) != nullptr;
         if (seq->is_list()) {
           for (const Value& x : seq->list()) if (Equals(x, v)) return true;
           return false;
         }
         return TypeError("test 'in' needs a container");
       }},
      {"lower", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return py::IsLower(v.ToString()); }},
      {"upper", [](Interpreter&, V v, A) -> absl::StatusOr<bool> { return py::IsUpper(v.ToString()); }},
      {"==", Comparison("==")}, {"eq", Comparison("==")}, {"equalto", Comparison("==")},
      {"!=", Comparison("!=")}, {"ne", Comparison("!=")},
      {"<", Comparison("<")}, {"lt", Comparison("<")}, {"lessthan", Comparison("<")},
      {"<=", Comparison("<=")}, {"le", Comparison("<=")},
      {">", Comparison(">")}, {"gt", Comparison(">")}, {"greaterthan", Comparison(">")},
      {">=", Comparison(">=")}, {"ge", Comparison(">=")},
  };
  return *table;
}

}  // namespace

bool IsFilter(std::string_view name) { return Filters().count(Canonical(name)) > 0; }
bool IsTest(std::string_view name) { return Tests().count(name) > 0; }

absl::StatusOr<Value> ApplyFilter(Interpreter& interp, std::string_view name, Value value, CallArgs args) {
  auto it = Filters().find(Canonical(name));
  if (it == Filters().end()) return TypeError(absl::StrCat("unsupported filter '", std::string(name), "'"));
  return it->second(interp, std::move(value), Args{args});
}

absl::StatusOr<bool> ApplyTest(Interpreter& interp, std::string_view name, const Value& value,
                               const CallArgs& args) {
  auto it = Tests().find(name);
  if (it == Tests().end()) return TypeError(absl::StrCat("unsupported test '", std::string(name), "'"));
  return it->second(interp, value, args);
}

}  // namespace attnserve::chat
