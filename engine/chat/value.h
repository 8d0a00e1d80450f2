// Value: the dynamic value of the chat-template interpreter, with Python semantics (what jinja2
// sees): undefined, None, bool, int, float, str, list/tuple, dict, namespace/object, callable.
// Strings are UTF-8; lengths and indices count code points as Python does. Lists and dicts are
// shared by reference (like Python objects); the sandbox never mutates them except namespaces.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace attnserve::chat {

class Value;
class Interpreter;  // evaluator.h; callables receive it to render macros and count steps

using ValueList = std::vector<Value>;

// Arguments of a call: positional then keyword, as written in the template.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// Anything callable from a template: builtins (range, namespace, ...), macros, bound methods.
class Callable {
 public:
  virtual ~Callable() = default;
  virtual absl::StatusOr<Value> Call(Interpreter& interp, CallArgs args) const = 0;
  virtual std::string Repr() const = 0;
};

// Insertion-ordered mapping (Python dict). Keys compare with Python equality.
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  const Value* Find(const Value& key) const;
  const Value* Find(std::string_view key) const;
  void Set(Value key, Value value);
};

class Value {
 public:
  enum class Kind : uint8_t {
    kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable
  };
  // kList: tuple() when is_tuple; kDict: namespace() / object (loop) when not a plain dict.
  enum class DictFlavor : uint8_t { kPlain, kNamespace, kObject };

  Value() = default;  // undefined
  static Value Undefined(std::string hint);  // hint: "'x' is undefined" style message
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double f);
  static Value String(std::string s);
  static Value List(ValueList items, bool is_tuple = false);
  static Value MakeDict(std::shared_ptr<Dict> dict, DictFlavor flavor = DictFlavor::kPlain);
  static Value EmptyDict(DictFlavor flavor = DictFlavor::kPlain);
  static Value Function(std::shared_ptr<const Callable> fn);
  // JSON → Value (objects keep their key order); Value → JSON fails on undefined/callables.
  static Value FromJson(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kList && is_tuple_; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_plain_dict() const { return kind_ == Kind::kDict && flavor_ == DictFlavor::kPlain; }
  bool is_namespace() const { return kind_ == Kind::kDict && flavor_ == DictFlavor::kNamespace; }
  bool is_callable() const { return kind_ == Kind::kCallable; }

  bool bool_value() const { return int_ != 0; }
  int64_t int_value() const { return int_; }  // also bools (0/1)
  double float_value() const { return kind_ == Kind::kFloat ? float_ : static_cast<double>(int_); }
  const std::string& str() const;             // string contents, or the undefined hint
  const ValueList& list() const { return *list_; }
  const std::shared_ptr<ValueList>& list_ptr() const { return list_; }
  const Dict& dict() const { return *dict_; }
  Dict& mutable_dict() const { return *dict_; }  // namespaces only (set ns.x = ...)
  const Callable& callable() const { return *fn_; }

  // Nesting of lists/dicts: 0 for scalars, 1 + the deepest element otherwise (as built; a
  // namespace's later changes are not counted).
  int depth() const { return depth_; }

  bool Truthy() const;
  // Python str(): what {{ value }} prints. Undefined prints as "".
  std::string ToString() const;
  // Python repr(): strings quoted, as inside printed lists and dicts.
  std::string Repr() const;
  // jinja's object_type_repr: "str object", "dict object", "None", ...
  std::string TypeName() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool is_tuple_ = false;
  DictFlavor flavor_ = DictFlavor::kPlain;
  int32_t depth_ = 0;
  int64_t int_ = 0;
  double float_ = 0;
  std::shared_ptr<const std::string> str_;
  std::shared_ptr<ValueList> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<const Callable> fn_;
};

// Python ==.
bool Equals(const Value& a, const Value& b);
// Python <, for numbers, strings and lists; TypeError as InvalidArgument otherwise.
absl::StatusOr<bool> LessThan(const Value& a, const Value& b);
// Python float repr ("1.0", "0.1", "1e-05", "inf").
std::string FloatRepr(double f);
// Options of Python's json.dumps as transformers' tojson filter passes them (ensure_ascii=False).
struct JsonFormat {
  std::optional<std::string> indent;  // nullopt: no newlines (indent=None)
  std::optional<std::string> item_sep, key_sep;  // nullopt: json.dumps' defaults
  bool sort_keys = false;
  bool ensure_ascii = false;  // escape non-ASCII as \uXXXX
};
// Python json.dumps(v, ...). Fails on undefined and callables as json.dumps does.
absl::StatusOr<std::string> ToJson(const Value& v, const JsonFormat& format);

}  // namespace attnserve::chat
