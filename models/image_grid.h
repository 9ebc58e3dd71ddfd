// Sample grids as PNG: a batch of images tiled rows x cols with a 1-pixel
// black border around every cell (torchvision make_grid(padding=1) layout),
// encoded with libpng as 8-bit grayscale (1 channel) or RGB (3 channels).
// These PNG bytes are what the worker stores in samples.png.
//
// Thread-safety: the functions keep no shared state (libpng's simplified API
// is reentrant) and may run concurrently.
#pragma once

#include <torch/types.h>

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "models/dataset.h"

namespace gridrun::models {

// Encodes images [N, C, H, W] (C = 1 or 3; any float dtype, values in
// `range`, or uint8 0..255 where `range` is ignored; any device) as one PNG of
// (rows*(H+1)+1) x (cols*(W+1)+1) pixels. Image i goes to row i / cols,
// column i % cols; images beyond rows*cols are left out and missing cells
// stay black. Values are clamped to the range and rounded; NaN counts as 0.
// Returns the PNG file bytes, or "" when the arguments break this contract
// (not 4-D, C not 1 or 3, rows or cols < 1, empty H or W).
std::string EncodePngGrid(const torch::Tensor& images, int rows, int cols, Range range);

// rows x cols for n images, as square as possible (cols = ceil(sqrt(n)),
// rows = ceil(n / cols)); {1, 1} for n < 1.
std::pair<int, int> SquareGridShape(int64_t n);

// True when `bytes` starts with the 8-byte PNG signature.
bool LooksLikePng(std::string_view bytes);

// Decodes a PNG (any bit depth / colour type libpng reads) to uint8
// [C, H, W]: C = 1 for grayscale, 3 for colour (alpha dropped by compositing
// on black). INVALID_ARGUMENT with libpng's message for bad data.
absl::StatusOr<torch::Tensor> DecodePng(std::string_view bytes);

}  // namespace gridrun::models
