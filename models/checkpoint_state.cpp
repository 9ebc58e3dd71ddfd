#include "models/checkpoint_state.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace gridrun::models {

absl::StatusOr<std::string> SaveCheckpointState(const Trainer& trainer,
                                                const CheckpointMeta& meta) {
  std::vector<std::string> keys;
  std::vector<int64_t> values;
  for (const auto& [key, value] : meta.data_position) {
    if (key.empty() || key.find('\n') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint data_position key '", key, "' is empty or has a newline"));
    }
    keys.push_back(key);
    values.push_back(value);
  }
  try {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive state(archive.compilation_unit());
    RETURN_IF_ERROR(trainer.SaveState(state));
    archive.write("trainer", state);
    archive.write("epoch", c10::IValue(meta.epoch));
    archive.write("data_position_keys", c10::IValue(absl::StrJoin(keys, "\n")));
    archive.write("data_position_values", c10::IValue(values));
    std::string bytes;
    archive.save_to([&bytes](const void* data, size_t size) -> size_t {
      bytes.append(static_cast<const char*>(data), size);
      return size;
    });
    return bytes;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("saving checkpoint: ", e.what()));
  }
}

absl::StatusOr<CheckpointMeta> LoadCheckpointState(std::string_view bytes, Trainer& trainer) {
  CheckpointMeta meta;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(bytes.data(), bytes.size(), trainer.device());
    torch::serialize::InputArchive state;
    c10::IValue epoch, keys, values;
    if (!archive.try_read("trainer", state) || !archive.try_read("epoch", epoch) ||
        !archive.try_read("data_position_keys", keys) ||
        !archive.try_read("data_position_values", values)) {
      return absl::DataLossError("checkpoint: missing trainer/epoch/data_position");
    }
    RETURN_IF_ERROR(trainer.LoadState(state));
    meta.epoch = epoch.toInt();
    const std::string& joined = keys.toStringRef();
    const std::vector<int64_t> position = values.toIntVector();
    std::vector<std::string> names;
    if (!joined.empty()) names = absl::StrSplit(joined, '\n');
    if (names.size() != position.size()) {
      return absl::DataLossError("checkpoint: data_position keys and values differ in length");
    }
    for (size_t i = 0; i < names.size(); ++i) meta.data_position[names[i]] = position[i];
  } catch (const std::exception& e) {
    return absl::DataLossError(
        absl::StrCat("checkpoint: not a trainer checkpoint (", e.what(), ")"));
  }
  return meta;
}

}  // namespace gridrun::models
