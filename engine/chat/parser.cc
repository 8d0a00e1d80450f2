// Parser (see parser.h): recursive descent over the lexer's tokens, following jinja2.parser —
// precedence from loosest: `x if c else y`, or, and, not, comparisons/in, + -, ~, * / // %,
// **, unary - +, then postfix (.attr, [item], [a:b:c], call) and filters/tests (| f, is t).
#include "engine/chat/parser.h"

#include <cerrno>
#include <cstdlib>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/chat/builtins.h"
#include "engine/chat/lexer.h"
#include "engine/chat/status_macros.h"

namespace attnserve::chat {
namespace {

using K = Token::Kind;

ExprPtr MakeExpr(Expr::Kind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  absl::StatusOr<Body> Run() {
    std::string end;
    CHAT_ASSIGN_OR_RETURN(Body body, ParseBody({}, 0, &end));
    return body;
  }

 private:
  const Token& Peek(size_t k = 0) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  const Token& Next() { return t_[std::min(p_++, t_.size() - 1)]; }
  bool IsOp(std::string_view op, size_t k = 0) const {
    return Peek(k).kind == K::kOp && Peek(k).value == op;
  }
  bool IsName(std::string_view n, size_t k = 0) const {
    return Peek(k).kind == K::kName && Peek(k).value == n;
  }
  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case K::kVarEnd: return "'}}'";
      case K::kBlockEnd: return "'%}'";
      case K::kEof: return "end of template";
      case K::kString: return "string literal";
      default: return absl::StrCat("'", t.value, "'");
    }
  }
  absl::Status ErrorAt(const Token& t, const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(what, " at line ", t.line));
  }
  absl::Status Unexpected(const std::string& expected) const {
    return ErrorAt(Peek(), absl::StrCat("syntax error: expected ", expected, ", got ", Describe(Peek())));
  }
  absl::Status ExpectOp(const std::string& op) {
    if (!IsOp(op)) return Unexpected(absl::StrCat("'", op, "'"));
    ++p_;
    return absl::OkStatus();
  }
  absl::Status ExpectBlockEnd() {
    if (Peek().kind != K::kBlockEnd) return Unexpected("'%}'");
    ++p_;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> ExpectName() {
    if (Peek().kind != K::kName) return Unexpected("a name");
    return Next().value;
  }

  // ---- statements ----

  // Parses until a block tag named in `end_tags`; consumes that tag's name (not its `%}`).
  absl::StatusOr<Body> ParseBody(const std::set<std::string>& end_tags, int open_line,
                                 std::string* end_found) {
    Body body;
    while (true) {
      const Token& tok = Peek();
      switch (tok.kind) {
        case K::kText: {
          Node n;
          n.kind = Node::Kind::kText;
          n.line = tok.line;
          n.text = tok.value;
          body.push_back(std::move(n));
          ++p_;
          break;
        }
        case K::kVarBegin: {
          ++p_;
          Node n;
          n.kind = Node::Kind::kOutput;
          n.line = tok.line;
          CHAT_ASSIGN_OR_RETURN(n.expr, ParseTuple(true));
          if (Peek().kind != K::kVarEnd) return Unexpected("'}}'");
          ++p_;
          body.push_back(std::move(n));
          break;
        }
        case K::kBlockBegin: {
          ++p_;
          if (Peek().kind != K::kName) return Unexpected("a tag name");
          const std::string& tag = Peek().value;
          if (end_tags.count(tag)) {
            *end_found = Next().value;
            return body;
          }
          CHAT_RETURN_IF_ERROR(ParseStatement(body));
          break;
        }
        case K::kEof: {
          if (end_tags.empty()) return body;
          std::string names;
          for (const auto& t : end_tags) names += (names.empty() ? "'" : " or '") + t + "'";
          return ErrorAt(tok, absl::StrCat("unexpected end of template: the block opened at line ",
                                           open_line, " needs ", names));
        }
        default: return Unexpected("text or a tag");
      }
    }
  }

  absl::Status ParseStatement(Body& body) {
    const Token& tag_tok = Next();
    const std::string tag = tag_tok.value;
    Node n;
    n.line = tag_tok.line;
    if (tag == "if") {
      n.kind = Node::Kind::kIf;
      std::string end;
      while (true) {
        CHAT_ASSIGN_OR_RETURN(ExprPtr cond, ParseTuple(false));
        CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
        CHAT_ASSIGN_OR_RETURN(Body b, ParseBody({"elif", "else", "endif"}, n.line, &end));
        n.branches.emplace_back(std::move(cond), std::move(b));
        if (end != "elif") break;
      }
      if (end == "else") {
        CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
        CHAT_ASSIGN_OR_RETURN(n.else_body, ParseBody({"endif"}, n.line, &end));
      }
    } else if (tag == "for") {
      n.kind = Node::Kind::kFor;
      CHAT_ASSIGN_OR_RETURN(n.targets, ParseTargets());
      if (!IsName("in")) return Unexpected("'in'");
      ++p_;
      CHAT_ASSIGN_OR_RETURN(n.expr, ParseTuple(false));
      if (IsName("if")) {
        ++p_;
        CHAT_ASSIGN_OR_RETURN(n.cond, ParseExpression(true));
      }
      if (IsName("recursive")) return ErrorAt(Peek(), "unsupported construct 'recursive' loop");
      CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
      std::string end;
      ++loop_depth_;
      CHAT_ASSIGN_OR_RETURN(n.body, ParseBody({"else", "endfor"}, n.line, &end));
      --loop_depth_;
      if (end == "else") {
        CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
        CHAT_ASSIGN_OR_RETURN(n.else_body, ParseBody({"endfor"}, n.line, &end));
      }
    } else if (tag == "set") {
      CHAT_ASSIGN_OR_RETURN(std::string first, ExpectName());
      n.targets.push_back(first);
      if (IsOp(".")) {
        ++p_;
        CHAT_ASSIGN_OR_RETURN(n.attr, ExpectName());
      } else {
        while (IsOp(",")) {
          ++p_;
          CHAT_ASSIGN_OR_RETURN(std::string more, ExpectName());
          n.targets.push_back(more);
        }
      }
      if (IsOp("=")) {
        ++p_;
        n.kind = Node::Kind::kSet;
        CHAT_ASSIGN_OR_RETURN(n.expr, ParseTuple(true));
      } else {
        if (IsOp("|")) return ErrorAt(Peek(), "unsupported construct: filter on a block set");
        if (n.targets.size() != 1 || !n.attr.empty()) return Unexpected("'='");
        n.kind = Node::Kind::kSetBlock;
        CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
        std::string end;
        CHAT_ASSIGN_OR_RETURN(n.body, ParseBody({"endset"}, n.line, &end));
      }
    } else if (tag == "macro") {
      n.kind = Node::Kind::kMacro;
      CHAT_ASSIGN_OR_RETURN(n.text, ExpectName());
      CHAT_RETURN_IF_ERROR(ExpectOp("("));
      while (!IsOp(")")) {
        if (!n.params.empty()) CHAT_RETURN_IF_ERROR(ExpectOp(","));
        if (IsOp(")")) break;
        CHAT_ASSIGN_OR_RETURN(std::string pname, ExpectName());
        ExprPtr def;
        if (IsOp("=")) {
          ++p_;
          CHAT_ASSIGN_OR_RETURN(def, ParseExpression(true));
        }
        n.params.emplace_back(pname, std::move(def));
      }
      ++p_;
      CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
      const int saved_depth = loop_depth_;
      loop_depth_ = 0;
      std::string end;
      CHAT_ASSIGN_OR_RETURN(n.body, ParseBody({"endmacro"}, n.line, &end));
      loop_depth_ = saved_depth;
    } else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) return ErrorAt(tag_tok, absl::StrCat("'", tag, "' outside of a loop"));
      n.kind = tag == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
    } else if (tag == "generation") {
      n.kind = Node::Kind::kGeneration;
      CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
      std::string end;
      CHAT_ASSIGN_OR_RETURN(n.body, ParseBody({"endgeneration"}, n.line, &end));
    } else {
      static const std::set<std::string> kStrayEnds = {
          "endif", "endfor", "endset", "endmacro", "endgeneration", "elif", "else"};
      if (kStrayEnds.count(tag)) return ErrorAt(tag_tok, absl::StrCat("unexpected tag '", tag, "'"));
      return ErrorAt(tag_tok, absl::StrCat("unsupported tag '", tag, "'"));
    }
    CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
    body.push_back(std::move(n));
    return absl::OkStatus();
  }

  // `x`, `k, v` or `(k, v)`.
  absl::StatusOr<std::vector<std::string>> ParseTargets() {
    std::vector<std::string> names;
    const bool paren = IsOp("(");
    if (paren) ++p_;
    while (true) {
      CHAT_ASSIGN_OR_RETURN(std::string name, ExpectName());
      names.push_back(name);
      if (!IsOp(",")) break;
      ++p_;
    }
    if (paren) CHAT_RETURN_IF_ERROR(ExpectOp(")"));
    return names;
  }

  // ---- expressions ----

  bool AtTupleEnd() const {
    const K k = Peek().kind;
    return k == K::kVarEnd || k == K::kBlockEnd || k == K::kEof || IsOp(")");
  }

  // Comma-separated expressions: a tuple when a comma appears, else the single expression.
  absl::StatusOr<ExprPtr> ParseTuple(bool with_condexpr, bool explicit_parens = false) {
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
    return t;
  }

  absl::StatusOr<ExprPtr> ParseExpression(bool with_condexpr) {
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
      expr = std::move(c);
    }
    return expr;
  }

  absl::StatusOr<ExprPtr> Binary(Expr::Kind kind, std::string op, ExprPtr l, ExprPtr r, int line) {
    ExprPtr e = MakeExpr(kind, line);
    e->name = std::move(op);
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return e;
  }

  absl::StatusOr<ExprPtr> ParseOr() {
    CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
    while (IsName("or")) {
      const int line = Next().line;
      CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
      CHAT_ASSIGN_OR_RETURN(left, Binary(Expr::Kind::kOr, "or", std::move(left), std::move(right), line));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseAnd() {
    CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
    while (IsName("and")) {
      const int line = Next().line;
      CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
      CHAT_ASSIGN_OR_RETURN(left, Binary(Expr::Kind::kAnd, "and", std::move(left), std::move(right), line));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseNot() {
    if (IsName("not")) {
      const int line = Next().line;
      CHAT_ASSIGN_OR_RETURN(ExprPtr inner, ParseNot());
      ExprPtr e = MakeExpr(Expr::Kind::kNot, line);
      e->args.push_back(std::move(inner));
      return e;
    }
    return ParseCompare();
  }

  absl::StatusOr<ExprPtr> ParseCompare() {
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
    return cmp ? std::move(cmp) : std::move(first);
  }

  absl::StatusOr<ExprPtr> ParseMath1() {
    CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
    while (IsOp("+") || IsOp("-")) {
      const Token& op = Next();
      CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParseConcat());
      CHAT_ASSIGN_OR_RETURN(left, Binary(Expr::Kind::kBinary, op.value, std::move(left), std::move(right), op.line));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseConcat() {
    CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParseMath2());
    while (IsOp("~")) {
      const int line = Next().line;
      CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParseMath2());
      CHAT_ASSIGN_OR_RETURN(left, Binary(Expr::Kind::kBinary, "~", std::move(left), std::move(right), line));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseMath2() {
    CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParsePow());
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const Token& op = Next();
      CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParsePow());
      CHAT_ASSIGN_OR_RETURN(left, Binary(Expr::Kind::kBinary, op.value, std::move(left), std::move(right), op.line));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParsePow() {
    CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParseUnary(true));
    while (IsOp("**")) {
      const int line = Next().line;
      CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParseUnary(true));
      CHAT_ASSIGN_OR_RETURN(left, Binary(Expr::Kind::kBinary, "**", std::move(left), std::move(right), line));
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseUnary(bool with_filter) {
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      const Token& op = Next();
      CHAT_ASSIGN_OR_RETURN(ExprPtr inner, ParseUnary(false));
      node = MakeExpr(op.value == "-" ? Expr::Kind::kNeg : Expr::Kind::kPos, op.line);
      node->args.push_back(std::move(inner));
    } else {
      CHAT_ASSIGN_OR_RETURN(node, ParsePrimary());
    }
    CHAT_ASSIGN_OR_RETURN(node, ParsePostfix(std::move(node)));
    if (with_filter) { CHAT_ASSIGN_OR_RETURN(node, ParseFilterExpr(std::move(node))); }
    return node;
  }

  absl::StatusOr<ExprPtr> ParsePrimary() {
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
      return e;
    }
    if (tok.kind == K::kString) {
      std::string s;
      while (Peek().kind == K::kString) s += Next().value;  // adjacent literals concatenate
      ExprPtr e = MakeExpr(Expr::Kind::kLiteral, tok.line);
      e->literal = Value::String(std::move(s));
      return e;
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
      return e;
    }
    if (IsOp("(")) {
      ++p_;
      CHAT_ASSIGN_OR_RETURN(ExprPtr e, ParseTuple(true, true));
      CHAT_RETURN_IF_ERROR(ExpectOp(")"));
      return e;
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
      return e;
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
      return e;
    }
    return Unexpected("an expression");
  }

  absl::StatusOr<ExprPtr> ParsePostfix(ExprPtr node) {
    while (true) {
      if (IsOp(".")) {
        const int line = Next().line;
        if (Peek().kind == K::kInt) {
          ExprPtr e = MakeExpr(Expr::Kind::kGetItem, line);
          ExprPtr idx = MakeExpr(Expr::Kind::kLiteral, line);
          idx->literal = Value::Int(std::strtoll(Next().value.c_str(), nullptr, 10));
          e->args.push_back(std::move(node));
          e->args.push_back(std::move(idx));
          node = std::move(e);
          continue;
        }
        CHAT_ASSIGN_OR_RETURN(std::string attr, ExpectName());
        ExprPtr e = MakeExpr(Expr::Kind::kGetAttr, line);
        e->name = attr;
        e->args.push_back(std::move(node));
        node = std::move(e);
      } else if (IsOp("[")) {
        CHAT_ASSIGN_OR_RETURN(node, ParseSubscript(std::move(node)));
      } else if (IsOp("(")) {
        CHAT_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
      } else {
        return node;
      }
    }
  }

  absl::StatusOr<ExprPtr> ParseSubscript(ExprPtr node) {
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
      return e;
    }
    ExprPtr e = MakeExpr(Expr::Kind::kSlice, line);
    e->args.push_back(std::move(node));
    for (auto& part : parts) e->args.push_back(std::move(part));
    return e;
  }

  absl::Status ParseCallArgs(Expr& call) {
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

  absl::StatusOr<ExprPtr> ParseCall(ExprPtr callee) {
    ExprPtr e = MakeExpr(Expr::Kind::kCall, Peek().line);
    e->args.push_back(std::move(callee));
    CHAT_RETURN_IF_ERROR(ParseCallArgs(*e));
    return e;
  }

  absl::StatusOr<ExprPtr> ParseFilterExpr(ExprPtr node) {
    while (true) {
      if (IsOp("|")) {
        const int line = Next().line;
        const Token& name_tok = Peek();
        CHAT_ASSIGN_OR_RETURN(std::string name, ExpectName());
        if (!IsFilter(name)) return ErrorAt(name_tok, absl::StrCat("unsupported filter '", name, "'"));
        ExprPtr e = MakeExpr(Expr::Kind::kFilter, line);
        e->name = name;
        e->args.push_back(std::move(node));
        if (IsOp("(")) CHAT_RETURN_IF_ERROR(ParseCallArgs(*e));
        node = std::move(e);
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
        node = std::move(e);
      } else if (IsOp("(")) {
        CHAT_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
      } else {
        return node;
      }
    }
  }

  std::vector<Token> t_;
  size_t p_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

absl::StatusOr<Body> ParseTemplate(const std::string& source) {
  CHAT_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source));
  return Parser(std::move(tokens)).Run();
}

}  // namespace attnserve::chat
