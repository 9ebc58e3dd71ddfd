// Size expressions of model files: `${width * 2}`, `${image_size // 4}`.
//
// A small, safe integer language; nothing is executed. Grammar:
//   expr   := term (('+' | '-') term)*
//   term   := unary (('*' | '//' | '%') unary)*
//   unary  := '-' unary | power
//   power  := atom ('**' unary)?          (right-associative)
//   atom   := INTEGER | NAME | '(' expr ')'
// Values are int64; overflow, division or modulo by zero, a negative or
// over-62 exponent and names outside the environment are errors. Input is
// bounded: at most kMaxExpressionChars characters and kMaxExpressionDepth
// nested parentheses / unary operators, so evaluation is linear in the text.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace gridrun::modelspec {

inline constexpr size_t kMaxExpressionChars = 256;
inline constexpr int kMaxExpressionDepth = 32;

// The names an expression may use and their values (settings such as
// latent_size, data-set names such as channels, repeat indices).
using Environment = std::map<std::string, int64_t, std::less<>>;

// Evaluates the text between `${` and `}`. INVALID_ARGUMENT with a message
// naming the problem and the expression, e.g.
//   "${width // (depth - 3)}: division by zero"
//   "${widht * 2}: unknown name 'widht', did you mean 'width'? (known: ...)"
absl::StatusOr<int64_t> EvaluateExpression(std::string_view text, const Environment& env);

// True when `scalar` is written as an expression, "${...}" (the whole scalar).
bool IsExpression(std::string_view scalar);

// The text inside "${...}" (IsExpression(scalar) must hold).
std::string_view ExpressionBody(std::string_view scalar);

}  // namespace gridrun::modelspec
