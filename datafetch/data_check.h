// `gridrun data check`: which data set files are present and valid, read
// from their headers and sizes only (no image is decoded), torch-free.
//
// Uses the IDX and CIFAR readers of models/idx_reader.h and
// models/cifar_reader.h, which are compiled into this library.
// Thread-safety: no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gridrun::datafetch {

struct FileCheck {
  std::string name;  // base name without ".gz", e.g. "train-images-idx3-ubyte"
  std::string path;  // the file found (plain preferred over .gz); "" if absent
  bool present = false;
  bool valid = false;  // header and size consistent (see CheckData)
  int64_t count = 0;   // images / labels / records the file holds
  std::string error;   // why it is not valid
};

struct DatasetCheck {
  std::string name;  // catalog name: "mnist", "fashion-mnist", "cifar10"
  std::string dir;
  std::vector<FileCheck> files;
  int64_t train_count = 0;  // images LoadDataset(kTrain) would return
  int64_t test_count = 0;
  bool usable = false;    // both splits load (as far as the headers tell)
  bool complete = false;  // every official file present and valid
  std::string error;      // data-set level problem (e.g. image/label count mismatch)
};

struct DataCheckReport {
  std::string data_dir;
  std::vector<DatasetCheck> datasets;  // catalog order
};

// Inspects every catalog data set under `data_dir` without decoding images:
// IDX files must have the right magic, 28x28 images and a size matching the
// header; CIFAR batches a size that is a multiple of 3073 bytes. For gzip
// files the size comes from the gzip trailer (ISIZE), so a cut-off download is
// caught without decompressing. Label values are not checked (LoadDataset
// does). CIFAR-10 is usable with test_batch and at least one training batch;
// complete with all five.
DataCheckReport CheckData(const std::string& data_dir);

// The CIFAR-10 part of CheckData for one directory (<data_dir>/cifar-10).
DatasetCheck CheckCifarDataset(const std::string& dir);

// Human-readable report, one line per file and a summary line per data set.
std::string FormatDataCheckReport(const DataCheckReport& report);

}  // namespace gridrun::datafetch
