// The size-expression language of model files (modelspec/expression.h).
#include "modelspec/expression.h"

#include <gtest/gtest.h>

#include <string>

namespace gridrun::modelspec {
namespace {
namespace expression_test {

const Environment kEnv = {{"width", 64}, {"depth", 3}, {"latent_size", 16}, {"image_size", 28},
                          {"i", 2}};

int64_t Eval(const std::string& text) {
  auto v = EvaluateExpression(text, kEnv);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status();
  return v.ok() ? *v : -999;
}

std::string Error(const std::string& text) {
  auto v = EvaluateExpression(text, kEnv);
  EXPECT_FALSE(v.ok()) << text << " = " << *v;
  return v.ok() ? "" : std::string(v.status().message());
}

TEST(Expression, ArithmeticAndPrecedence) {
  EXPECT_EQ(Eval("width"), 64);
  EXPECT_EQ(Eval("width * 2"), 128);
  EXPECT_EQ(Eval("image_size // 4"), 7);
  EXPECT_EQ(Eval("width * 2 ** (depth - 1)"), 256);
  EXPECT_EQ(Eval("2 ** 3 ** 2"), 512);  // right-associative, as Python
  EXPECT_EQ(Eval("-2 ** 2"), -4);       // ** binds tighter than unary minus
  EXPECT_EQ(Eval("image_size // 2 ** i % 2"), 1);  // (28 // 4) % 2
  EXPECT_EQ(Eval("(latent_size + 10) * 1"), 26);
  EXPECT_EQ(Eval(" 1+2*3 "), 7);
}

TEST(Expression, FloorDivisionAndModuloFollowPython) {
  EXPECT_EQ(Eval("-7 // 2"), -4);
  EXPECT_EQ(Eval("7 // -2"), -4);
  EXPECT_EQ(Eval("-7 % 2"), 1);
  EXPECT_EQ(Eval("7 % -2"), -1);
}

TEST(Expression, ErrorsNameTheProblem) {
  EXPECT_EQ(Error("width // (depth - 3)"), "${width // (depth - 3)}: division by zero");
  EXPECT_EQ(Error("width % 0"), "${width % 0}: modulo by zero");
  EXPECT_EQ(Error("widht * 2"),
            "${widht * 2}: unknown name 'widht', did you mean 'width'? (known: depth, i, "
            "image_size, latent_size, width)");
  EXPECT_EQ(Error("width / 2"), "${width / 2}: '/' is not integer division; write '//'");
  EXPECT_EQ(Error("width * 1.5"), "${width * 1.5}: only integers are allowed in size expressions");
  EXPECT_EQ(Error("(width"), "${(width}: missing ')'");
  EXPECT_EQ(Error("width +"), "${width +}: expression ends too early");
  EXPECT_EQ(Error(""), "${}: empty expression");
  EXPECT_EQ(Error("width; rm -rf /"), "${width; rm -rf /}: unexpected ';' at column 6");
  EXPECT_EQ(Error("2 ** 63"), "${2 ** 63}: exponent must be in 0..62");
  EXPECT_EQ(Error("width ** 20"), "${width ** 20}: integer overflow");
  EXPECT_EQ(Error("99999999999999999999"), "${99999999999999999999}: integer overflow");
}

TEST(Expression, InputIsBounded) {
  EXPECT_NE(Error(std::string(300, '1')).find("longer than 256 characters"), std::string::npos);
  std::string nested(40, '(');
  nested += "1" + std::string(40, ')');
  EXPECT_NE(Error(nested).find("nested too deeply"), std::string::npos);
  std::string minus(40, '-');
  EXPECT_NE(Error(minus + "1").find("nested too deeply"), std::string::npos);
}

TEST(Expression, RecognisesTheWholeScalarOnly) {
  EXPECT_TRUE(IsExpression("${width}"));
  EXPECT_FALSE(IsExpression("width"));
  EXPECT_FALSE(IsExpression("x${width}"));
  EXPECT_FALSE(IsExpression("${}x"));
  EXPECT_EQ(ExpressionBody("${width * 2}"), "width * 2");
}

}  // namespace expression_test
}  // namespace
}  // namespace gridrun::modelspec
