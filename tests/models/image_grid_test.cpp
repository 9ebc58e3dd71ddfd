#include "models/image_grid.h"

#include <gtest/gtest.h>

#include <string>

namespace gridrun::models {
namespace {
namespace image_grid_test {

TEST(ImageGridTest, GrayGridLayoutAndValues) {
  // 5 images of 4x5, image i filled with (i + 1) * 40 / 255 in [0, 1].
  torch::Tensor images = torch::empty({5, 1, 4, 5});
  for (int i = 0; i < 5; ++i) images[i].fill_((i + 1) * 40 / 255.0);
  const std::string png = EncodePngGrid(images, /*rows=*/2, /*cols=*/3, Range::kZeroOne);
  ASSERT_TRUE(LooksLikePng(png));
  absl::StatusOr<torch::Tensor> decoded = DecodePng(png);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->sizes(), (std::vector<int64_t>{1, 2 * 5 + 1, 3 * 6 + 1}));
  const torch::Tensor g = (*decoded)[0];
  for (int i = 0; i < 5; ++i) {
    const int top = (i / 3) * 5 + 1;
    const int left = (i % 3) * 6 + 1;
    const torch::Tensor cell = g.slice(0, top, top + 4).slice(1, left, left + 5);
    const int want = (i + 1) * 40;
    EXPECT_TRUE(torch::all(cell == want).item<bool>()) << "cell " << i;
  }
  // Borders (first row/column and the lines between cells) are black.
  EXPECT_EQ(g[0].sum().item<int64_t>(), 0);
  EXPECT_EQ(g.select(1, 0).sum().item<int64_t>(), 0);
  EXPECT_EQ(g[5].sum().item<int64_t>(), 0);
  EXPECT_EQ(g.select(1, 6).sum().item<int64_t>(), 0);
  // The sixth cell has no image: black.
  EXPECT_EQ(g.slice(0, 6, 10).slice(1, 13, 18).sum().item<int64_t>(), 0);
}

TEST(ImageGridTest, RgbMinusOneOneRangeClampsAndRounds) {
  torch::Tensor images = torch::zeros({1, 3, 2, 2});
  images[0][0].fill_(1.0);    // red full
  images[0][1].fill_(-1.0);   // green off
  images[0][2].fill_(0.0);    // blue mid
  images[0][0][0][0] = 3.0;   // clamped to 255
  images[0][2][1][1] = -7.0;  // clamped to 0
  images[0][1][0][1] = std::nan("");
  const std::string png = EncodePngGrid(images, 1, 1, Range::kMinusOneOne);
  absl::StatusOr<torch::Tensor> decoded = DecodePng(png);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->sizes(), (std::vector<int64_t>{3, 4, 4}));
  const torch::Tensor cell = decoded->slice(1, 1, 3).slice(2, 1, 3);
  EXPECT_TRUE(torch::all(cell[0] == 255).item<bool>());
  EXPECT_EQ(cell[1][0][0].item<int>(), 0);
  EXPECT_EQ(cell[1][0][1].item<int>(), 128);  // NaN counts as 0 -> mid grey
  EXPECT_EQ(cell[2][0][0].item<int>(), 128);
  EXPECT_EQ(cell[2][1][1].item<int>(), 0);
}

TEST(ImageGridTest, Uint8ImagesPassThrough) {
  torch::Tensor images = torch::randint(0, 256, {4, 1, 3, 3}, torch::kUInt8);
  absl::StatusOr<torch::Tensor> decoded =
      DecodePng(EncodePngGrid(images, 2, 2, Range::kMinusOneOne));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  for (int i = 0; i < 4; ++i) {
    const int top = (i / 2) * 4 + 1;
    const int left = (i % 2) * 4 + 1;
    EXPECT_TRUE(
        torch::equal((*decoded)[0].slice(0, top, top + 3).slice(1, left, left + 3), images[i][0]));
  }
}

TEST(ImageGridTest, ExtraImagesAreLeftOut) {
  torch::Tensor images = torch::ones({7, 1, 2, 2});
  absl::StatusOr<torch::Tensor> decoded = DecodePng(EncodePngGrid(images, 1, 2, Range::kZeroOne));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->sizes(), (std::vector<int64_t>{1, 4, 7}));
  EXPECT_EQ(decoded->sum().item<int64_t>(), 2 * 4 * 255);
}

TEST(ImageGridTest, ContractViolationsGiveEmptyString) {
  EXPECT_EQ(EncodePngGrid(torch::zeros({2, 2, 4, 4}), 1, 2, Range::kZeroOne), "");
  EXPECT_EQ(EncodePngGrid(torch::zeros({1, 4, 4}), 1, 1, Range::kZeroOne), "");
  EXPECT_EQ(EncodePngGrid(torch::zeros({1, 1, 4, 4}), 0, 1, Range::kZeroOne), "");
  EXPECT_EQ(EncodePngGrid(torch::Tensor(), 1, 1, Range::kZeroOne), "");
}

TEST(ImageGridTest, PngSignatureAndDecodeErrors) {
  EXPECT_FALSE(LooksLikePng(""));
  EXPECT_FALSE(LooksLikePng("GIF89a.."));
  EXPECT_TRUE(LooksLikePng(std::string("\x89PNG\r\n\x1a\n", 8)));
  EXPECT_FALSE(DecodePng("not a png").ok());
  const std::string png = EncodePngGrid(torch::zeros({1, 1, 8, 8}), 1, 1, Range::kZeroOne);
  absl::StatusOr<torch::Tensor> truncated = DecodePng(std::string_view(png).substr(0, 20));
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ImageGridTest, SquareGridShape) {
  EXPECT_EQ(SquareGridShape(64), std::make_pair(8, 8));
  EXPECT_EQ(SquareGridShape(10), std::make_pair(3, 4));
  EXPECT_EQ(SquareGridShape(12), std::make_pair(3, 4));
  EXPECT_EQ(SquareGridShape(1), std::make_pair(1, 1));
  EXPECT_EQ(SquareGridShape(0), std::make_pair(1, 1));
}

}  // namespace image_grid_test
}  // namespace
}  // namespace gridrun::models
