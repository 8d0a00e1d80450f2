// Parser, statements (see parser.h, parser_internal.h): the template body, the block tags
// (if/elif/else, for/else, set, set blocks, macro, filter blocks, break/continue, generation)
// and the refusal of every other tag by name.
#include "engine/chat/parser.h"

#include "engine/chat/parser_internal.h"
#include "engine/chat/status_macros.h"

namespace attnserve::chat {
namespace internal {

absl::StatusOr<Body> Parser::Run() {
  std::string end;
  return ParseBody({}, 0, &end);
}

std::string Parser::Describe(const Token& t) {
  switch (t.kind) {
    case K::kVarEnd: return "'}}'";
    case K::kBlockEnd: return "'%}'";
    case K::kEof: return "end of template";
    case K::kString: return "string literal";
    default: return absl::StrCat("'", t.value, "'");
  }
}

absl::Status Parser::ErrorAt(const Token& t, const std::string& what) const {
  return absl::InvalidArgumentError(absl::StrCat(what, " at line ", t.line));
}

absl::Status Parser::Unexpected(const std::string& expected) const {
  return ErrorAt(Peek(), absl::StrCat("syntax error: expected ", expected, ", got ", Describe(Peek())));
}

absl::Status Parser::ExpectOp(const std::string& op) {
  if (!IsOp(op)) return Unexpected(absl::StrCat("'", op, "'"));
  ++p_;
  return absl::OkStatus();
}

absl::Status Parser::ExpectBlockEnd() {
  if (Peek().kind != K::kBlockEnd) return Unexpected("'%}'");
  ++p_;
  return absl::OkStatus();
}

absl::StatusOr<std::string> Parser::ExpectName() {
  if (Peek().kind != K::kName) return Unexpected("a name");
  return Next().value;
}


// Parses until a block tag named in `end_tags`; consumes that tag's name (not its `%}`).
absl::StatusOr<Body> Parser::ParseBody(const std::set<std::string>& end_tags, int open_line,
                               std::string* end_found) {
  NestingGuard guard(nesting_);
  if (guard.too_deep()) return TooDeep();
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

absl::Status Parser::ParseStatement(Body& body) {
  const Token& tag_tok = Next();
  const std::string tag = tag_tok.value;
  Node n;
  n.line = tag_tok.line;
  std::string end;
  if (tag == "if") {
    CHAT_RETURN_IF_ERROR(ParseIf(n));
  } else if (tag == "for") {
    CHAT_RETURN_IF_ERROR(ParseFor(n));
  } else if (tag == "set") {
    CHAT_RETURN_IF_ERROR(ParseSet(n));
  } else if (tag == "macro") {
    CHAT_RETURN_IF_ERROR(ParseMacro(n));
  } else if (tag == "filter") {
    CHAT_RETURN_IF_ERROR(ParseFilterBlock(n));
  } else if (tag == "break" || tag == "continue") {
    if (loop_depth_ == 0) return ErrorAt(tag_tok, absl::StrCat("'", tag, "' outside of a loop"));
    n.kind = tag == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
  } else if (tag == "generation") {
    n.kind = Node::Kind::kGeneration;
    CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
    CHAT_ASSIGN_OR_RETURN(n.body, ParseBody({"endgeneration"}, n.line, &end));
  } else {
    static const std::set<std::string> kStrayEnds = {"endif", "endfor", "endset", "endmacro",
                                                     "endfilter", "endgeneration", "elif", "else"};
    if (kStrayEnds.count(tag)) return ErrorAt(tag_tok, absl::StrCat("unexpected tag '", tag, "'"));
    return ErrorAt(tag_tok, absl::StrCat("unsupported tag '", tag, "'"));
  }
  CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
  body.push_back(std::move(n));
  return absl::OkStatus();
}

absl::Status Parser::ParseIf(Node& n) {
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
  return absl::OkStatus();
}

absl::Status Parser::ParseFor(Node& n) {
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
  return absl::OkStatus();
}

// `set x = e`, `set a, b = e`, `set ns.attr = e`, or the block form `set x [| filters] %}...{% endset`.
absl::Status Parser::ParseSet(Node& n) {
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
    return absl::OkStatus();
  }
  if (n.targets.size() != 1 || !n.attr.empty()) return Unexpected("'='");
  n.kind = Node::Kind::kSetBlock;
  if (IsOp("|")) {
    ++p_;
    CHAT_ASSIGN_OR_RETURN(n.expr, ParseFilterChain());
  }
  CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
  std::string end;
  CHAT_ASSIGN_OR_RETURN(n.body, ParseBody({"endset"}, n.line, &end));
  return absl::OkStatus();
}

absl::Status Parser::ParseMacro(Node& n) {
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
  loop_depth_ = 0;  // break/continue inside a macro body do not reach the caller's loop
  std::string end;
  CHAT_ASSIGN_OR_RETURN(n.body, ParseBody({"endmacro"}, n.line, &end));
  loop_depth_ = saved_depth;
  return absl::OkStatus();
}

// `filter f(args) | g %}...{% endfilter`: the rendered body through the filters.
absl::Status Parser::ParseFilterBlock(Node& n) {
  n.kind = Node::Kind::kFilterBlock;
  CHAT_ASSIGN_OR_RETURN(n.expr, ParseFilterChain());
  CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
  std::string end;
  CHAT_ASSIGN_OR_RETURN(n.body, ParseBody({"endfilter"}, n.line, &end));
  return absl::OkStatus();
}

// `x`, `k, v` or `(k, v)`.
absl::StatusOr<std::vector<std::string>> Parser::ParseTargets() {
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

}  // namespace internal

absl::StatusOr<Body> ParseTemplate(const std::string& source) {
  CHAT_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source));
  return internal::Parser(std::move(tokens)).Run();
}

}  // namespace attnserve::chat
