// Parser, expressions (see parser_internal.h): jinja2's precedence from loosest —
// `x if c else y`, or, and, not, comparisons/in, + -, ~, * / // %, **, unary - +, then postfix
// (.attr, [item], [a:b:c], call) and filters/tests (| f, is t).
#include <cerrno>
#include <cstdlib>

#include "engine/chat/builtins.h"
#include "engine/chat/parser_internal.h"
#include "engine/chat/status_macros.h"

namespace attnserve::chat::internal {

ExprPtr MakeExpr(Expr::Kind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

absl::StatusOr<ExprPtr> Parser::Seal(ExprPtr e) {
  int depth = 0;
  for (const ExprPtr& a : e->args) {
    if (a) depth = std::max(depth, a->depth);
  }
  for (const auto& kw : e->kwargs) depth = std::max(depth, kw.second->depth);
  e->depth = depth + 1;
  if (e->depth > kMaxExprDepth) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "expression nested deeper than ", kMaxExprDepth, " operations at line ", e->line));
  }
  return e;
}

absl::Status Parser::TooDeep() const {
  return absl::ResourceExhaustedError(
      absl::StrCat("template nested deeper than ", kMaxNesting, " levels at line ", Peek().line));
}

bool Parser::AtTupleEnd() const {
  const K k = Peek().kind;
  return k == K::kVarEnd || k == K::kBlockEnd || k == K::kEof || IsOp(")");
}

// Comma-separated expressions: a tuple when a comma appears, else the single expression.
absl::StatusOr<ExprPtr> Parser::ParseTuple(bool with_condexpr, bool explicit_parens) {
  const int line = Peek().line;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) {
      if (!IsOp(",")) break;
      ++p_;
      is_tuple = true;
    }
    if (AtTupleEnd()) break;
    CHAT_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression(with_condexpr));
    items.push_back(std::move(e));
  }
  if (!is_tuple) {
    if (items.size() == 1) return std::move(items[0]);
    if (!explicit_parens) return Unexpected("an expression");
  }
  ExprPtr t = MakeExpr(Expr::Kind::kTuple, line);
  t->args = std::move(items);
  return Seal(std::move(t));
}

absl::StatusOr<ExprPtr> Parser::ParseExpression(bool with_condexpr) {
  NestingGuard guard(nesting_);
  if (guard.too_deep()) return TooDeep();
  if (!with_condexpr) return ParseOr();
  CHAT_ASSIGN_OR_RETURN(ExprPtr expr, ParseOr());
  while (IsName("if")) {
    const int line = Next().line;
    CHAT_ASSIGN_OR_RETURN(ExprPtr cond, ParseOr());
    ExprPtr otherwise;
    if (IsName("else")) {
      ++p_;
      CHAT_ASSIGN_OR_RETURN(otherwise, ParseExpression(true));
    }
    ExprPtr c = MakeExpr(Expr::Kind::kCondExpr, line);
    c->args.push_back(std::move(cond));
    c->args.push_back(std::move(expr));
    c->args.push_back(std::move(otherwise));
    CHAT_ASSIGN_OR_RETURN(expr, Seal(std::move(c)));
  }
  return expr;
}

absl::StatusOr<ExprPtr> Parser::Binary(Expr::Kind kind, std::string op, ExprPtr l, ExprPtr r, int line) {
  ExprPtr e = MakeExpr(kind, line);
  e->name = std::move(op);
  e->args.push_back(std::move(l));
  e->args.push_back(std::move(r));
  return Seal(std::move(e));
}

absl::StatusOr<ExprPtr> Parser::ParseOr() {
  CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
  while (IsName("or")) {
    const int line = Next().line;
    CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
    CHAT_ASSIGN_OR_RETURN(left, Binary(Expr::Kind::kOr, "or", std::move(left), std::move(right), line));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseAnd() {
  CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
  while (IsName("and")) {
    const int line = Next().line;
    CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
    CHAT_ASSIGN_OR_RETURN(left, Binary(Expr::Kind::kAnd, "and", std::move(left), std::move(right), line));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseNot() {
  NestingGuard guard(nesting_);
  if (guard.too_deep()) return TooDeep();
  if (IsName("not")) {
    const int line = Next().line;
    CHAT_ASSIGN_OR_RETURN(ExprPtr inner, ParseNot());
    ExprPtr e = MakeExpr(Expr::Kind::kNot, line);
    e->args.push_back(std::move(inner));
    return Seal(std::move(e));
  }
  return ParseCompare();
}

absl::StatusOr<ExprPtr> Parser::ParseCompare() {
  const int line = Peek().line;
  CHAT_ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
  ExprPtr cmp;
  while (true) {
    std::string op;
    if (Peek().kind == K::kOp && (Peek().value == "==" || Peek().value == "!=" ||
                                  Peek().value == "<" || Peek().value == ">" ||
                                  Peek().value == "<=" || Peek().value == ">=")) {
      op = Next().value;
    } else if (IsName("in")) {
      ++p_;
      op = "in";
    } else if (IsName("not") && IsName("in", 1)) {
      p_ += 2;
      op = "notin";
    } else {
      break;
    }
    if (!cmp) {
      cmp = MakeExpr(Expr::Kind::kCompare, line);
      cmp->args.push_back(std::move(first));
    }
    CHAT_ASSIGN_OR_RETURN(ExprPtr operand, ParseMath1());
    cmp->ops.push_back(op);
    cmp->args.push_back(std::move(operand));
  }
  if (!cmp) return first;
  return Seal(std::move(cmp));
}

absl::StatusOr<ExprPtr> Parser::ParseMath1() {
  CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
  while (IsOp("+") || IsOp("-")) {
    const Token& op = Next();
    CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParseConcat());
    CHAT_ASSIGN_OR_RETURN(left, Binary(Expr::Kind::kBinary, op.value, std::move(left), std::move(right), op.line));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseConcat() {
  CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParseMath2());
  while (IsOp("~")) {
    const int line = Next().line;
    CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParseMath2());
    CHAT_ASSIGN_OR_RETURN(left, Binary(Expr::Kind::kBinary, "~", std::move(left), std::move(right), line));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseMath2() {
  CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParsePow());
  while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
    const Token& op = Next();
    CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParsePow());
    CHAT_ASSIGN_OR_RETURN(left, Binary(Expr::Kind::kBinary, op.value, std::move(left), std::move(right), op.line));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParsePow() {
  CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParseUnary(true));
  while (IsOp("**")) {
    const int line = Next().line;
    CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParseUnary(true));
    CHAT_ASSIGN_OR_RETURN(left, Binary(Expr::Kind::kBinary, "**", std::move(left), std::move(right), line));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseUnary(bool with_filter) {
  NestingGuard guard(nesting_);
  if (guard.too_deep()) return TooDeep();
  ExprPtr node;
  if (IsOp("-") || IsOp("+")) {
    const Token& op = Next();
    CHAT_ASSIGN_OR_RETURN(ExprPtr inner, ParseUnary(false));
    node = MakeExpr(op.value == "-" ? Expr::Kind::kNeg : Expr::Kind::kPos, op.line);
    node->args.push_back(std::move(inner));
    CHAT_ASSIGN_OR_RETURN(node, Seal(std::move(node)));
  } else {
    CHAT_ASSIGN_OR_RETURN(node, ParsePrimary());
  }
  CHAT_ASSIGN_OR_RETURN(node, ParsePostfix(std::move(node)));
  if (with_filter) { CHAT_ASSIGN_OR_RETURN(node, ParseFilterExpr(std::move(node))); }
  return node;
}

absl::StatusOr<ExprPtr> Parser::ParsePrimary() {
  const Token& tok = Peek();
  if (tok.kind == K::kName) {
    ++p_;
    ExprPtr e = MakeExpr(Expr::Kind::kLiteral, tok.line);
    if (tok.value == "true" || tok.value == "True") e->literal = Value::Bool(true);
    else if (tok.value == "false" || tok.value == "False") e->literal = Value::Bool(false);
    else if (tok.value == "none" || tok.value == "None") e->literal = Value::None();
    else {
      e->kind = Expr::Kind::kName;
      e->name = tok.value;
    }
    return Seal(std::move(e));
  }
  if (tok.kind == K::kString) {
    std::string s;
    while (Peek().kind == K::kString) s += Next().value;  // adjacent literals concatenate
    ExprPtr e = MakeExpr(Expr::Kind::kLiteral, tok.line);
    e->literal = Value::String(std::move(s));
    return Seal(std::move(e));
  }
  if (tok.kind == K::kInt || tok.kind == K::kFloat) {
    ++p_;
    ExprPtr e = MakeExpr(Expr::Kind::kLiteral, tok.line);
    if (tok.kind == K::kInt) {
      errno = 0;
      const long long v = std::strtoll(tok.value.c_str(), nullptr, 10);
      if (errno == ERANGE) return ErrorAt(tok, "unsupported integer literal (beyond 64 bits)");
      e->literal = Value::Int(v);
    } else {
      e->literal = Value::Float(std::strtod(tok.value.c_str(), nullptr));
    }
    return Seal(std::move(e));
  }
  if (IsOp("(")) {
    ++p_;
    CHAT_ASSIGN_OR_RETURN(ExprPtr e, ParseTuple(true, true));
    CHAT_RETURN_IF_ERROR(ExpectOp(")"));
    return Seal(std::move(e));
  }
  if (IsOp("[")) {
    ++p_;
    ExprPtr e = MakeExpr(Expr::Kind::kList, tok.line);
    while (!IsOp("]")) {
      if (!e->args.empty()) CHAT_RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp("]")) break;
      CHAT_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(true));
      e->args.push_back(std::move(item));
    }
    ++p_;
    return Seal(std::move(e));
  }
  if (IsOp("{")) {
    ++p_;
    ExprPtr e = MakeExpr(Expr::Kind::kDict, tok.line);
    while (!IsOp("}")) {
      if (!e->args.empty()) CHAT_RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp("}")) break;
      CHAT_ASSIGN_OR_RETURN(ExprPtr key, ParseExpression(true));
      CHAT_RETURN_IF_ERROR(ExpectOp(":"));
      CHAT_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
      e->args.push_back(std::move(key));
      e->args.push_back(std::move(value));
    }
    ++p_;
    return Seal(std::move(e));
  }
  return Unexpected("an expression");
}

absl::StatusOr<ExprPtr> Parser::ParsePostfix(ExprPtr node) {
  while (true) {
    if (IsOp(".")) {
      const int line = Next().line;
      if (Peek().kind == K::kInt) {
        ExprPtr e = MakeExpr(Expr::Kind::kGetItem, line);
        ExprPtr idx = MakeExpr(Expr::Kind::kLiteral, line);
        idx->literal = Value::Int(std::strtoll(Next().value.c_str(), nullptr, 10));
        e->args.push_back(std::move(node));
        e->args.push_back(std::move(idx));
        CHAT_ASSIGN_OR_RETURN(node, Seal(std::move(e)));
        continue;
      }
      CHAT_ASSIGN_OR_RETURN(std::string attr, ExpectName());
      ExprPtr e = MakeExpr(Expr::Kind::kGetAttr, line);
      e->name = attr;
      e->args.push_back(std::move(node));
      CHAT_ASSIGN_OR_RETURN(node, Seal(std::move(e)));
    } else if (IsOp("[")) {
      CHAT_ASSIGN_OR_RETURN(node, ParseSubscript(std::move(node)));
    } else if (IsOp("(")) {
      CHAT_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
    } else {
      return node;
    }
  }
}

absl::StatusOr<ExprPtr> Parser::ParseSubscript(ExprPtr node) {
  const int line = Next().line;  // '['
  ExprPtr parts[3];
  bool is_slice = false;
  int idx = 0;
  while (!IsOp("]")) {
    if (IsOp(":")) {
      ++p_;
      is_slice = true;
      if (++idx > 2) return Unexpected("']'");
      continue;
    }
    if (IsOp(",")) return ErrorAt(Peek(), "unsupported construct: tuple subscript");
    if (parts[idx]) return Unexpected("':' or ']'");
    CHAT_ASSIGN_OR_RETURN(parts[idx], ParseExpression(true));
  }
  ++p_;
  if (!is_slice) {
    if (!parts[0]) return ErrorAt(Peek(), "syntax error: empty subscript");
    ExprPtr e = MakeExpr(Expr::Kind::kGetItem, line);
    e->args.push_back(std::move(node));
    e->args.push_back(std::move(parts[0]));
    return Seal(std::move(e));
  }
  ExprPtr e = MakeExpr(Expr::Kind::kSlice, line);
  e->args.push_back(std::move(node));
  for (auto& part : parts) e->args.push_back(std::move(part));
  return Seal(std::move(e));
}

absl::Status Parser::ParseCallArgs(Expr& call) {
  CHAT_RETURN_IF_ERROR(ExpectOp("("));
  bool first = true;
  while (!IsOp(")")) {
    if (!first) CHAT_RETURN_IF_ERROR(ExpectOp(","));
    first = false;
    if (IsOp(")")) break;
    if (IsOp("*") || IsOp("**")) return ErrorAt(Peek(), "unsupported construct: *args/**kwargs in a call");
    if (Peek().kind == K::kName && IsOp("=", 1)) {
      std::string key = Next().value;
      ++p_;
      CHAT_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
      call.kwargs.emplace_back(std::move(key), std::move(v));
    } else {
      if (!call.kwargs.empty()) return ErrorAt(Peek(), "syntax error: positional argument after keyword argument");
      CHAT_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
      call.args.push_back(std::move(v));
    }
  }
  ++p_;
  return absl::OkStatus();
}

absl::StatusOr<ExprPtr> Parser::ParseCall(ExprPtr callee) {
  ExprPtr e = MakeExpr(Expr::Kind::kCall, Peek().line);
  e->args.push_back(std::move(callee));
  CHAT_RETURN_IF_ERROR(ParseCallArgs(*e));
  return Seal(std::move(e));
}

absl::StatusOr<ExprPtr> Parser::ParseOneFilter(ExprPtr node, int line) {
  const Token& name_tok = Peek();
  CHAT_ASSIGN_OR_RETURN(std::string name, ExpectName());
  if (!IsFilter(name)) return ErrorAt(name_tok, absl::StrCat("unsupported filter '", name, "'"));
  ExprPtr e = MakeExpr(Expr::Kind::kFilter, line);
  e->name = name;
  e->args.push_back(std::move(node));
  if (IsOp("(")) CHAT_RETURN_IF_ERROR(ParseCallArgs(*e));
  return Seal(std::move(e));
}

absl::StatusOr<ExprPtr> Parser::ParseFilterChain() {
  const int line = Peek().line;
  CHAT_ASSIGN_OR_RETURN(ExprPtr node, ParseOneFilter(MakeExpr(Expr::Kind::kCaptured, line), line));
  while (IsOp("|")) {
    const int next_line = Next().line;
    CHAT_ASSIGN_OR_RETURN(node, ParseOneFilter(std::move(node), next_line));
  }
  return node;
}

absl::StatusOr<ExprPtr> Parser::ParseFilterExpr(ExprPtr node) {
  while (true) {
    if (IsOp("|")) {
      const int line = Next().line;
      CHAT_ASSIGN_OR_RETURN(node, ParseOneFilter(std::move(node), line));
    } else if (IsName("is")) {
      const int line = Next().line;
      ExprPtr e = MakeExpr(Expr::Kind::kTest, line);
      if (IsName("not")) {
        ++p_;
        e->negated = true;
      }
      const Token& name_tok = Peek();
      CHAT_ASSIGN_OR_RETURN(std::string name, ExpectName());
      if (!IsTest(name)) return ErrorAt(name_tok, absl::StrCat("unsupported test '", name, "'"));
      e->name = name;
      e->args.push_back(std::move(node));
      if (IsOp("(")) {
        CHAT_RETURN_IF_ERROR(ParseCallArgs(*e));
      } else if ((Peek().kind == K::kName || Peek().kind == K::kString || Peek().kind == K::kInt ||
                  Peek().kind == K::kFloat || IsOp("[") || IsOp("{")) &&
                 !IsName("else") && !IsName("or") && !IsName("and")) {
        if (IsName("is")) return ErrorAt(Peek(), "syntax error: cannot chain tests with 'is'");
        CHAT_ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
        CHAT_ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
        e->args.push_back(std::move(arg));
      }
      CHAT_ASSIGN_OR_RETURN(node, Seal(std::move(e)));
    } else if (IsOp("(")) {
      CHAT_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
    } else {
      return node;
    }
  }
}

}  // namespace attnserve::chat::internal
