// Value: construction, truthiness, Python str()/repr(), equality, ordering and json.dumps.
#include "engine/chat/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/chat/py_string.h"

namespace attnserve::chat {

const Value* Dict::Find(const Value& key) const {
  for (const auto& [k, v] : items) {
    if (Equals(k, key)) return &v;
  }
  return nullptr;
}

const Value* Dict::Find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k.is_string() && k.str() == key) return &v;
  }
  return nullptr;
}

void Dict::Set(Value key, Value value) {
  for (auto& [k, v] : items) {
    if (Equals(k, key)) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

Value Value::Undefined(std::string hint) {
  Value v;
  v.str_ = std::make_shared<const std::string>(std::move(hint));
  return v;
}
Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}
Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.int_ = b ? 1 : 0;
  return v;
}
Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.int_ = i;
  return v;
}
Value Value::Float(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.float_ = f;
  return v;
}
Value Value::String(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.str_ = std::make_shared<const std::string>(std::move(s));
  return v;
}
Value Value::List(ValueList items, bool is_tuple) {
  Value v;
  v.kind_ = Kind::kList;
  v.is_tuple_ = is_tuple;
  for (const Value& item : items) v.depth_ = std::max(v.depth_, item.depth_);
  ++v.depth_;
  v.list_ = std::make_shared<ValueList>(std::move(items));
  return v;
}
Value Value::MakeDict(std::shared_ptr<Dict> dict, DictFlavor flavor) {
  Value v;
  v.kind_ = Kind::kDict;
  v.flavor_ = flavor;
  for (const auto& kv : dict->items) v.depth_ = std::max(v.depth_, kv.second.depth_);
  ++v.depth_;
  v.dict_ = std::move(dict);
  return v;
}
Value Value::EmptyDict(DictFlavor flavor) { return MakeDict(std::make_shared<Dict>(), flavor); }
Value Value::Function(std::shared_ptr<const Callable> fn) {
  Value v;
  v.kind_ = Kind::kCallable;
  v.fn_ = std::move(fn);
  return v;
}

Value Value::FromJson(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return None();
    case nlohmann::ordered_json::value_t::boolean: return Bool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Int(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
      return Int(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return Float(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return String(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      ValueList items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(FromJson(e));
      return List(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto d = std::make_shared<Dict>();
      d->items.reserve(j.size());
      for (const auto& [k, e] : j.items()) d->items.emplace_back(String(k), FromJson(e));
      return MakeDict(std::move(d));
    }
    default: return None();
  }
}

const std::string& Value::str() const {
  static const std::string kEmpty;
  return str_ ? *str_ : kEmpty;
}

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool:
    case Kind::kInt: return int_ != 0;
    case Kind::kFloat: return float_ != 0.0;
    case Kind::kString: return !str_->empty();
    case Kind::kList: return !list_->empty();
    case Kind::kDict: return flavor_ != DictFlavor::kPlain || !dict_->items.empty();
    case Kind::kCallable: return true;
  }
  return false;
}

std::string FloatRepr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  if (f == 0) return std::signbit(f) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then Python's layout: exponent form when the decimal exponent
  // is < -4 or >= 16.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const size_t e_pos = sci.find('e');
  std::string mant = sci.substr(0, e_pos);
  const int exp10 = std::stoi(sci.substr(e_pos + 1));
  const bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant) if (c != '.') digits.push_back(c);
  std::string out = neg ? "-" : "";
  if (exp10 < -4 || exp10 >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    return out + eb;
  }
  if (exp10 < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp10 - 1), '0');
    out += digits;
  } else if (static_cast<size_t>(exp10 + 1) >= digits.size()) {
    out += digits + std::string(static_cast<size_t>(exp10 + 1) - digits.size(), '0') + ".0";
  } else {
    out += digits.substr(0, exp10 + 1) + "." + digits.substr(exp10 + 1);
  }
  return out;
}

std::string Value::ToString() const {
  switch (kind_) {
    case Kind::kUndefined: return "";
    case Kind::kString: return *str_;
    default: return Repr();
  }
}

std::string Value::Repr() const {
  switch (kind_) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return int_ ? "True" : "False";
    case Kind::kInt: return std::to_string(int_);
    case Kind::kFloat: return FloatRepr(float_);
    case Kind::kString: return py::Repr(*str_);
    case Kind::kList: {
      std::string out = is_tuple_ ? "(" : "[";
      for (size_t i = 0; i < list_->size(); ++i) {
        if (i) out += ", ";
        out += (*list_)[i].Repr();
      }
      if (is_tuple_ && list_->size() == 1) out += ",";
      return out + (is_tuple_ ? ")" : "]");
    }
    case Kind::kDict: {
      std::string out = "{";
      for (size_t i = 0; i < dict_->items.size(); ++i) {
        if (i) out += ", ";
        out += dict_->items[i].first.Repr() + ": " + dict_->items[i].second.Repr();
      }
      out += "}";
      if (flavor_ == DictFlavor::kNamespace) return "<Namespace " + out + ">";
      if (flavor_ == DictFlavor::kObject) return "<object>";
      return out;
    }
    case Kind::kCallable: return fn_->Repr();
  }
  return "";
}

std::string Value::TypeName() const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "None";
    case Kind::kBool: return "bool object";
    case Kind::kInt: return "int object";
    case Kind::kFloat: return "float object";
    case Kind::kString: return "str object";
    case Kind::kList: return is_tuple_ ? "tuple object" : "list object";
    case Kind::kDict:
      return flavor_ == DictFlavor::kNamespace ? "Namespace object"
             : flavor_ == DictFlavor::kObject  ? "LoopContext object"
                                               : "dict object";
    case Kind::kCallable: return "function object";
  }
  return "object";
}

bool Equals(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.float_value() == b.float_value();
    return a.int_value() == b.int_value();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::kUndefined:
    case K::kNone: return true;
    case K::kString: return a.str() == b.str();
    case K::kList: {
      if (a.is_tuple() != b.is_tuple() || a.list().size() != b.list().size()) return false;
      for (size_t i = 0; i < a.list().size(); ++i) {
        if (!Equals(a.list()[i], b.list()[i])) return false;
      }
      return true;
    }
    case K::kDict: {
      if (!a.is_plain_dict() || !b.is_plain_dict()) return &a.dict() == &b.dict();
      if (a.dict().items.size() != b.dict().items.size()) return false;
      for (const auto& [k, v] : a.dict().items) {
        const Value* other = b.dict().Find(k);
        if (!other || !Equals(v, *other)) return false;
      }
      return true;
    }
    case K::kCallable: return &a.callable() == &b.callable();
    default: return false;
  }
}

namespace {
std::string PyTypeName(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "Undefined";
    case Value::Kind::kNone: return "NoneType";
    case Value::Kind::kBool: return "bool";
    case Value::Kind::kInt: return "int";
    case Value::Kind::kFloat: return "float";
    case Value::Kind::kString: return "str";
    case Value::Kind::kList: return v.is_tuple() ? "tuple" : "list";
    case Value::Kind::kDict: return "dict";
    case Value::Kind::kCallable: return "function";
  }
  return "object";
}
}  // namespace

absl::StatusOr<bool> LessThan(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.float_value() < b.float_value();
    return a.int_value() < b.int_value();
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 order == code point order
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    const auto& x = a.list();
    const auto& y = b.list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (Equals(x[i], y[i])) continue;
      return LessThan(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  return absl::InvalidArgumentError(absl::StrCat("'<' not supported between instances of '",
                                                 PyTypeName(a), "' and '", PyTypeName(b), "'"));
}

namespace {

absl::StatusOr<std::string> JsonKey(const Value& k) {
  switch (k.kind()) {
    case Value::Kind::kString: return k.str();
    case Value::Kind::kNone: return std::string("null");
    case Value::Kind::kBool: return std::string(k.bool_value() ? "true" : "false");
    case Value::Kind::kInt: return std::to_string(k.int_value());
    case Value::Kind::kFloat: return FloatRepr(k.float_value());
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "keys must be str, int, float, bool or None, not ", PyTypeName(k)));
  }
}

absl::Status DumpJson(const Value& v, const JsonFormat& f, int level, std::string& out) {
  const std::string item_sep = f.item_sep ? *f.item_sep : (f.indent ? "," : ", ");
  const std::string key_sep = f.key_sep ? *f.key_sep : ": ";
  auto newline = [&](int lvl) {
    if (!f.indent) return;
    out.push_back('\n');
    for (int i = 0; i < lvl; ++i) out += *f.indent;
  };
  switch (v.kind()) {
    case Value::Kind::kNone: out += "null"; return absl::OkStatus();
    case Value::Kind::kBool: out += v.bool_value() ? "true" : "false"; return absl::OkStatus();
    case Value::Kind::kInt: out += std::to_string(v.int_value()); return absl::OkStatus();
    case Value::Kind::kFloat: {
      const double d = v.float_value();
      if (std::isnan(d)) out += "NaN";
      else if (std::isinf(d)) out += d > 0 ? "Infinity" : "-Infinity";
      else out += FloatRepr(d);
      return absl::OkStatus();
    }
    case Value::Kind::kString: out += py::JsonQuote(v.str(), f.ensure_ascii); return absl::OkStatus();
    case Value::Kind::kList: {
      if (v.list().empty()) { out += "[]"; return absl::OkStatus(); }
      out.push_back('[');
      for (size_t i = 0; i < v.list().size(); ++i) {
        if (i) out += item_sep;
        newline(level + 1);
        if (auto s = DumpJson(v.list()[i], f, level + 1, out); !s.ok()) return s;
      }
      newline(level);
      out.push_back(']');
      return absl::OkStatus();
    }
    case Value::Kind::kDict: {
      if (!v.is_plain_dict()) break;
      if (v.dict().items.empty()) { out += "{}"; return absl::OkStatus(); }
      std::vector<const std::pair<Value, Value>*> items;
      for (const auto& kv : v.dict().items) items.push_back(&kv);
      if (f.sort_keys) {
        absl::Status err;
        std::stable_sort(items.begin(), items.end(), [&](auto* x, auto* y) {
          auto lt = LessThan(x->first, y->first);
          if (!lt.ok()) { err = lt.status(); return false; }
          return *lt;
        });
        if (!err.ok()) return err;
      }
      out.push_back('{');
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        newline(level + 1);
        auto key = JsonKey(items[i]->first);
        if (!key.ok()) return key.status();
        out += py::JsonQuote(*key, f.ensure_ascii);
        out += key_sep;
        if (auto s = DumpJson(items[i]->second, f, level + 1, out); !s.ok()) return s;
      }
      newline(level);
      out.push_back('}');
      return absl::OkStatus();
    }
    default: break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("Object of type ", PyTypeName(v), " is not JSON serializable"));
}

}  // namespace

absl::StatusOr<std::string> ToJson(const Value& v, const JsonFormat& format) {
  std::string out;
  if (auto s = DumpJson(v, format, 0, out); !s.ok()) return s;
  return out;
}

}  // namespace attnserve::chat
