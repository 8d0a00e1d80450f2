// AST of a parsed chat template: expressions (Expr) and statements (Node). Built once by the
// parser and then only read (rendering is const and thread-safe).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/chat/value.h"

namespace attnserve::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,   // literal
    kName,      // name
    kList,      // [args...]
    kTuple,     // (args...)
    kDict,      // {args[0]: args[1], ...} (pairs flattened)
    kGetAttr,   // args[0].name
    kGetItem,   // args[0][args[1]]
    kSlice,     // args[0][args[1]:args[2]:args[3]] (null members absent)
    kCall,      // args[0](args[1:]..., kwargs)
    kFilter,    // args[0] | name(args[1:]..., kwargs)
    kTest,      // args[0] is [not] name(args[1:]...)  (negated)
    kNeg,       // -args[0]
    kPos,       // +args[0]
    kNot,       // not args[0]
    kBinary,    // args[0] name args[1]: + - * / // % ** ~
    kAnd,       // args[0] and args[1]
    kOr,        // args[0] or args[1]
    kCompare,   // args[0] ops[0] args[1] ops[1] args[2] ... (== != < > <= >= in notin)
    kCondExpr,  // args[1] if args[0] else args[2] (args[2] may be null → undefined)
    kCaptured,  // the rendered body of the enclosing filter block / filtered set block
  };
  Kind kind;
  int line = 0;
  int depth = 1;  // 1 + the deepest child (set by the parser, bounded)
  Value literal;
  std::string name;
  bool negated = false;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
};

struct Node;
using Body = std::vector<Node>;

struct Node {
  enum class Kind {
    kText,        // text
    kOutput,      // {{ expr }}
    kIf,          // branches: (cond, body)...; else_body
    kFor,         // for targets in expr [if cond]: body else else_body
    kSet,         // set targets = expr; or set ns.attr = expr (attr non-empty)
    kSetBlock,    // set targets[0] [| expr] %}body{% endset (expr: filters over kCaptured)
    kFilterBlock, // filter expr %}body{% endfilter (expr: filters over kCaptured)
    kMacro,       // macro name(params) body
    kBreak,
    kContinue,
    kGeneration,  // {% generation %} body (transformers' assistant-mask marker: renders body)
  };
  Kind kind;
  int line = 0;
  std::string text;                    // kText; kMacro: macro name
  ExprPtr expr;                        // kOutput, kSet value, kFor iterable, filter chains
  ExprPtr cond;                        // kFor filter condition
  std::vector<std::string> targets;    // kFor / kSet names (several: tuple unpacking)
  std::string attr;                    // kSet: namespace attribute (targets[0] is the namespace)
  std::vector<std::pair<ExprPtr, Body>> branches;  // kIf
  Body body;                           // kFor, kSetBlock, kFilterBlock, kMacro, kGeneration
  Body else_body;                      // kIf, kFor
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro (default may be null)
};

}  // namespace attnserve::chat
