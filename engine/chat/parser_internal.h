// Parser internals shared by parser.cc (statements) and parse_expressions.cc (expressions):
// a recursive-descent parser over the lexer's tokens, following jinja2.parser. Internal header.
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/chat/ast.h"
#include "engine/chat/lexer.h"

namespace attnserve::chat::internal {

ExprPtr MakeExpr(Expr::Kind kind, int line);

// Bounds that keep parsing, rendering and freeing a template's AST within a small stack.
inline constexpr int kMaxNesting = 100;    // blocks inside blocks, parentheses, unary chains
inline constexpr int kMaxExprDepth = 300;  // operator / filter / attribute chains (AST depth)

class NestingGuard {
 public:
  explicit NestingGuard(int& depth) : depth_(depth) { ++depth_; }
  ~NestingGuard() { --depth_; }
  bool too_deep() const { return depth_ > kMaxNesting; }

 private:
  int& depth_;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}
  absl::StatusOr<Body> Run();

 private:
  using K = Token::Kind;

  // ---- tokens (parser.cc) ----
  const Token& Peek(size_t k = 0) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  const Token& Next() { return t_[std::min(p_++, t_.size() - 1)]; }
  bool IsOp(std::string_view op, size_t k = 0) const {
    return Peek(k).kind == K::kOp && Peek(k).value == op;
  }
  bool IsName(std::string_view n, size_t k = 0) const {
    return Peek(k).kind == K::kName && Peek(k).value == n;
  }
  static std::string Describe(const Token& t);
  absl::Status ErrorAt(const Token& t, const std::string& what) const;
  absl::Status Unexpected(const std::string& expected) const;
  absl::Status ExpectOp(const std::string& op);
  absl::Status ExpectBlockEnd();
  absl::StatusOr<std::string> ExpectName();

  // ---- statements (parser.cc) ----
  // Parses until a block tag named in `end_tags`; consumes that tag's name (not its `%}`).
  absl::StatusOr<Body> ParseBody(const std::set<std::string>& end_tags, int open_line,
                                 std::string* end_found);
  absl::Status ParseStatement(Body& body);
  absl::Status ParseIf(Node& n);
  absl::Status ParseFor(Node& n);
  absl::Status ParseSet(Node& n);
  absl::Status ParseMacro(Node& n);
  absl::Status ParseFilterBlock(Node& n);
  absl::StatusOr<std::vector<std::string>> ParseTargets();

  // ---- expressions (parse_expressions.cc) ----
  // Sets e->depth from its children; ResourceExhausted past kMaxExprDepth.
  absl::StatusOr<ExprPtr> Seal(ExprPtr e);
  absl::Status TooDeep() const;  // ResourceExhausted "nested deeper than ..." at the next token
  bool AtTupleEnd() const;
  // Comma-separated expressions: a tuple when a comma appears, else the single expression.
  absl::StatusOr<ExprPtr> ParseTuple(bool with_condexpr, bool explicit_parens = false);
  absl::StatusOr<ExprPtr> ParseExpression(bool with_condexpr);
  absl::StatusOr<ExprPtr> Binary(Expr::Kind kind, std::string op, ExprPtr l, ExprPtr r, int line);
  absl::StatusOr<ExprPtr> ParseOr();
  absl::StatusOr<ExprPtr> ParseAnd();
  absl::StatusOr<ExprPtr> ParseNot();
  absl::StatusOr<ExprPtr> ParseCompare();
  absl::StatusOr<ExprPtr> ParseMath1();
  absl::StatusOr<ExprPtr> ParseConcat();
  absl::StatusOr<ExprPtr> ParseMath2();
  absl::StatusOr<ExprPtr> ParsePow();
  absl::StatusOr<ExprPtr> ParseUnary(bool with_filter);
  absl::StatusOr<ExprPtr> ParsePrimary();
  absl::StatusOr<ExprPtr> ParsePostfix(ExprPtr node);
  absl::StatusOr<ExprPtr> ParseSubscript(ExprPtr node);
  absl::Status ParseCallArgs(Expr& call);
  absl::StatusOr<ExprPtr> ParseCall(ExprPtr callee);
  // `node | f(args)`: one filter applied to `node`, the `|` already consumed.
  absl::StatusOr<ExprPtr> ParseOneFilter(ExprPtr node, int line);
  // The `| f`, `is t` and call suffixes after a unary expression.
  absl::StatusOr<ExprPtr> ParseFilterExpr(ExprPtr node);
  // `f(args) | g ...` of a filter block or a filtered block set, applied to the captured body.
  absl::StatusOr<ExprPtr> ParseFilterChain();

  std::vector<Token> t_;
  size_t p_ = 0;
  int loop_depth_ = 0;
  int nesting_ = 0;  // NestingGuard depth of the recursive descent
};

}  // namespace attnserve::chat::internal
