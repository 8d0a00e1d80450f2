// Early-return helpers for absl::Status / absl::StatusOr inside engine/chat (internal header).
#pragma once

#include <utility>

#define CHAT_CONCAT_INNER(a, b) a##b
#define CHAT_CONCAT(a, b) CHAT_CONCAT_INNER(a, b)

#define CHAT_RETURN_IF_ERROR(expr)   \
  do {                               \
    auto chat_status_ = (expr);      \
    if (!chat_status_.ok()) return chat_status_; \
  } while (0)

#define CHAT_ASSIGN_OR_RETURN(lhs, expr) \
  CHAT_ASSIGN_OR_RETURN_IMPL(CHAT_CONCAT(chat_statusor_, __LINE__), lhs, expr)
#define CHAT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(*tmp)
