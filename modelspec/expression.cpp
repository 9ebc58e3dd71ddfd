#include "modelspec/expression.h"

#include <cctype>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/suggest.h"

namespace gridrun::modelspec {
namespace {

// Recursive descent over the text; every function advances pos_ or fails,
// and depth_ bounds the recursion (kMaxExpressionDepth).
class Parser {
 public:
  Parser(std::string_view text, const Environment& env) : text_(text), env_(env) {}

  absl::StatusOr<int64_t> Run() {
    if (text_.size() > kMaxExpressionChars) {
      return Fail(absl::StrCat("longer than ", kMaxExpressionChars, " characters"));
    }
    SkipSpaces();
    if (pos_ == text_.size()) return Fail("empty expression");
    int64_t value = 0;
    if (!Expr(value)) return Error();
    SkipSpaces();
    if (pos_ != text_.size()) {
      return Fail(absl::StrCat("unexpected '", std::string(text_.substr(pos_, 1)), "' at column ", pos_ + 1));
    }
    return value;
  }

 private:
  absl::Status Error() const { return absl::InvalidArgumentError(message_); }
  absl::Status Fail(const std::string& problem) {
    message_ = absl::StrCat("${", std::string(text_), "}: ", problem);
    return Error();
  }
  bool Set(const std::string& problem) {
    if (message_.empty()) Fail(problem);
    return false;
  }

  void SkipSpaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool Take(std::string_view op) {
    SkipSpaces();
    if (text_.substr(pos_, op.size()) != op) return false;
    pos_ += op.size();
    return true;
  }
  bool Peek(std::string_view op) {
    SkipSpaces();
    return text_.substr(pos_, op.size()) == op;
  }

  bool Expr(int64_t& out) {
    if (!Term(out)) return false;
    while (true) {
      const bool plus = Peek("+");
      if (!plus && !Peek("-")) return true;
      ++pos_;
      int64_t rhs = 0;
      if (!Term(rhs)) return false;
      const bool overflow = plus ? __builtin_add_overflow(out, rhs, &out)
                                 : __builtin_sub_overflow(out, rhs, &out);
      if (overflow) return Set("integer overflow");
    }
  }

  bool Term(int64_t& out) {
    if (!Unary(out)) return false;
    while (true) {
      int op = 0;
      if (Peek("**")) return true;  // handled by Power
      if (Take("//")) {
        op = '/';
      } else if (Take("*")) {
        op = '*';
      } else if (Take("%")) {
        op = '%';
      } else if (Peek("/")) {
        return Set("'/' is not integer division; write '//'");
      } else {
        return true;
      }
      int64_t rhs = 0;
      if (!Unary(rhs)) return false;
      if (op == '*') {
        if (__builtin_mul_overflow(out, rhs, &out)) return Set("integer overflow");
        continue;
      }
      if (rhs == 0) return Set(op == '/' ? "division by zero" : "modulo by zero");
      if (out == INT64_MIN && rhs == -1) return Set("integer overflow");
      // Python's floor division and modulo (the seeds' sizes are Python).
      int64_t q = out / rhs, r = out % rhs;
      if (r != 0 && ((r < 0) != (rhs < 0))) {
        q -= 1;
        r += rhs;
      }
      out = op == '/' ? q : r;
    }
  }

  bool Unary(int64_t& out) {
    if (++depth_ > kMaxExpressionDepth) return Set("nested too deeply");
    bool ok;
    if (Take("-")) {
      ok = Unary(out);
      if (ok && __builtin_sub_overflow(int64_t{0}, out, &out)) ok = Set("integer overflow");
    } else {
      ok = Power(out);
    }
    --depth_;
    return ok;
  }

  bool Power(int64_t& out) {
    if (!Atom(out)) return false;
    if (!Take("**")) return true;
    int64_t exponent = 0;
    if (!Unary(exponent)) return false;
    if (exponent < 0 || exponent > 62) return Set("exponent must be in 0..62");
    int64_t result = 1;
    for (int64_t i = 0; i < exponent; ++i) {
      if (__builtin_mul_overflow(result, out, &result)) return Set("integer overflow");
    }
    out = result;
    return true;
  }

  bool Atom(int64_t& out) {
    SkipSpaces();
    if (pos_ == text_.size()) return Set("expression ends too early");
    const char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      if (++depth_ > kMaxExpressionDepth) return Set("nested too deeply");
      if (!Expr(out)) return false;
      --depth_;
      if (!Take(")")) return Set("missing ')'");
      return true;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      out = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (__builtin_mul_overflow(out, int64_t{10}, &out) ||
            __builtin_add_overflow(out, int64_t{text_[pos_] - '0'}, &out)) {
          return Set("integer overflow");
        }
        ++pos_;
      }
      if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e')) {
        return Set("only integers are allowed in size expressions");
      }
      return true;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t start = pos_;
      while (pos_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
        ++pos_;
      }
      const std::string_view name = text_.substr(start, pos_ - start);
      auto it = env_.find(name);
      if (it == env_.end()) {
        std::vector<std::string> known;
        for (const auto& [k, v] : env_) known.push_back(k);
        return Set(absl::StrCat("unknown name '", std::string(name), "'",
                                DidYouMean(Suggest(name, known)), " (known: ",
                                absl::StrJoin(known, ", "), ")"));
      }
      out = it->second;
      return true;
    }
    return Set(absl::StrCat("unexpected '", std::string(text_.substr(pos_, 1)), "' at column ", pos_ + 1));
  }

  std::string_view text_;
  const Environment& env_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::string message_;
};

}  // namespace

absl::StatusOr<int64_t> EvaluateExpression(std::string_view text, const Environment& env) {
  return Parser(text, env).Run();
}

bool IsExpression(std::string_view scalar) {
  return scalar.size() >= 3 && scalar.substr(0, 2) == "${" && scalar.back() == '}';
}

std::string_view ExpressionBody(std::string_view scalar) {
  return scalar.substr(2, scalar.size() - 3);
}

}  // namespace gridrun::modelspec
