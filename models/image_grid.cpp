#include "models/image_grid.h"

#include <png.h>

#include <cmath>
#include <cstring>
#include <exception>
#include <vector>

#include "absl/strings/str_cat.h"
#include "models/torch_errors.h"

namespace gridrun::models {
namespace {

// images [N,C,H,W] -> uint8 [N,H,W,C] on CPU.
torch::Tensor ToPixelsNHWC(const torch::Tensor& images, Range range) {
  torch::Tensor x = images.detach().to(torch::kCPU);
  if (x.scalar_type() != torch::kUInt8) {
    x = torch::nan_to_num(x.to(torch::kFloat32), 0.0, 0.0, 0.0);
    if (range == Range::kMinusOneOne) {
      x = (x + 1.0) * 127.5;
    } else {
      x = x * 255.0;
    }
    x = x.round().clamp(0.0, 255.0).to(torch::kUInt8);
  }
  return x.permute({0, 2, 3, 1}).contiguous();
}

}  // namespace

std::string EncodePngGrid(const torch::Tensor& images, int rows, int cols, Range range) {
  if (!images.defined() || images.dim() != 4 || rows < 1 || cols < 1) return "";
  const int64_t n = images.size(0);
  const int64_t c = images.size(1);
  const int64_t h = images.size(2);
  const int64_t w = images.size(3);
  if ((c != 1 && c != 3) || h < 1 || w < 1) return "";
  try {
    const torch::Tensor pixels = ToPixelsNHWC(images, range);
    const int64_t grid_h = rows * (h + 1) + 1;
    const int64_t grid_w = cols * (w + 1) + 1;
    torch::Tensor canvas = torch::zeros({grid_h, grid_w, c}, torch::kUInt8);
    const int64_t cells = std::min<int64_t>(n, int64_t{rows} * cols);
    for (int64_t i = 0; i < cells; ++i) {
      const int64_t top = (i / cols) * (h + 1) + 1;
      const int64_t left = (i % cols) * (w + 1) + 1;
      canvas.slice(0, top, top + h).slice(1, left, left + w).copy_(pixels[i]);
    }
    png_image image;
    std::memset(&image, 0, sizeof(image));
    image.version = PNG_IMAGE_VERSION;
    image.width = static_cast<png_uint_32>(grid_w);
    image.height = static_cast<png_uint_32>(grid_h);
    image.format = c == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    const png_int_32 stride = static_cast<png_int_32>(grid_w * c);
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&image, nullptr, &size, /*convert_to_8bit=*/0,
                                   canvas.data_ptr<uint8_t>(), stride, nullptr)) {
      png_image_free(&image);
      return "";
    }
    std::string out(size, '\0');
    if (!png_image_write_to_memory(&image, out.data(), &size, 0, canvas.data_ptr<uint8_t>(), stride,
                                   nullptr)) {
      png_image_free(&image);
      return "";
    }
    out.resize(size);
    return out;
  } catch (const std::exception&) {
    return "";
  }
}

std::pair<int, int> SquareGridShape(int64_t n) {
  if (n < 1) return {1, 1};
  const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n)) - 1e-9));
  const int rows = static_cast<int>((n + cols - 1) / cols);
  return {rows, cols};
}

bool LooksLikePng(std::string_view bytes) {
  static constexpr unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return bytes.size() >= 8 && std::memcmp(bytes.data(), kSignature, 8) == 0;
}

absl::StatusOr<torch::Tensor> DecodePng(std::string_view bytes) {
  if (!LooksLikePng(bytes)) {
    return absl::InvalidArgumentError("not a PNG: missing the 8-byte PNG signature");
  }
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    const std::string message = image.message;
    png_image_free(&image);
    return absl::InvalidArgumentError(absl::StrCat("bad PNG: ", message));
  }
  const bool color = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;
  image.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  const int64_t c = color ? 3 : 1;
  try {
    torch::Tensor hwc =
        torch::empty({int64_t{image.height}, int64_t{image.width}, c}, torch::kUInt8);
    png_color black{0, 0, 0};
    if (!png_image_finish_read(&image, &black, hwc.data_ptr<uint8_t>(), 0, nullptr)) {
      const std::string message = image.message;
      png_image_free(&image);
      return absl::InvalidArgumentError(absl::StrCat("bad PNG: ", message));
    }
    return hwc.permute({2, 0, 1}).contiguous();
  } catch (const std::exception& e) {
    png_image_free(&image);
    return absl::ResourceExhaustedError(absl::StrCat("decoding PNG: ", TorchMessage(e)));
  }
}

}  // namespace gridrun::models
