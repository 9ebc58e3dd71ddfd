// SqliteTrialStore, TorchScript files (schema v8, torchscript_files): one row
// per uploaded file, by its sha256.
#include "coordinator/sqlite_store_internal.h"

namespace gridrun::coordinator {
namespace {

constexpr char kSqlUpsertTorchScript[] =
    "INSERT INTO torchscript_files (sha256, size_bytes, path, name, created_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (sha256) DO UPDATE SET "
    "size_bytes = excluded.size_bytes, path = excluded.path, created_ms = excluded.created_ms";
constexpr char kSqlTorchScriptBySha[] = "SELECT * FROM torchscript_files WHERE sha256 = ?1";

}  // namespace

absl::Status SqliteTrialStore::AddTorchScriptFile(const TorchScriptFileRecord& file) {
  return InWriteTransaction(absl::StrCat("recording TorchScript file ", file.sha256), [&]() {
    CachedStatement u = Prepared(kSqlUpsertTorchScript);
    SQLite::bind(*u, file.sha256, file.size_bytes, file.path, file.name, file.created_ms);
    u->exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<TorchScriptFileRecord> SqliteTrialStore::GetTorchScriptFile(
    const std::string& sha256) {
  return InReadTransaction(
      "reading a TorchScript file's row", [&]() -> absl::StatusOr<TorchScriptFileRecord> {
        CachedStatement q = Prepared(kSqlTorchScriptBySha);
        SQLite::bind(*q, sha256);
        if (!q->executeStep()) {
          return absl::NotFoundError(
              absl::StrCat("no TorchScript file with sha256 ", sha256, " was uploaded"));
        }
        TorchScriptFileRecord r;
        r.sha256 = q->getColumn("sha256").getString();
        r.size_bytes = q->getColumn("size_bytes").getInt64();
        r.path = q->getColumn("path").getString();
        r.name = q->getColumn("name").getString();
        r.created_ms = q->getColumn("created_ms").getInt64();
        return r;
      });
}

}  // namespace gridrun::coordinator
