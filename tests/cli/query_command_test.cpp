#include "cli/query_command.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

namespace gridrun::cli {
namespace {
namespace query_command_test {

class QueryCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "gridrun-query-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    db_ = dir_ + "/q.db";
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "PRAGMA journal_mode=WAL;"
                           "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, blob BLOB);"
                           "INSERT INTO t VALUES (1, 'alpha', 0.5, x'0102'), (2, 'be,ta', NULL, NULL),"
                           " (3, 'gamma \"g\"', 12.25, NULL);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  int Run(const std::string& sql, const std::string& format = "table", int64_t max_rows = 100) {
    out_.str("");
    err_.str("");
    QueryOptions options;
    options.db_path = db_;
    options.sql = sql;
    options.format = format;
    options.max_rows = max_rows;
    return RunQuery(options, out_, err_);
  }

  int64_t Rows() {
    Run("SELECT count(*) AS n FROM t", "csv");
    return std::stoll(out_.str().substr(2));
  }

  std::string dir_, db_;
  std::ostringstream out_, err_;
};

TEST_F(QueryCommandTest, TableOutputAlignsColumns) {
  ASSERT_EQ(Run("SELECT id, name, score FROM t ORDER BY id"), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "id  name       score\n"
            "--  ---------  -----\n"
            " 1  alpha        0.5\n"
            " 2  be,ta\n"
            " 3  gamma \"g\"  12.25\n");
}

TEST_F(QueryCommandTest, CsvQuotesAndJsonTypes) {
  ASSERT_EQ(Run("SELECT id, name, score FROM t ORDER BY id", "csv"), 0);
  EXPECT_EQ(out_.str(), "id,name,score\n1,alpha,0.5\n2,\"be,ta\",\n3,\"gamma \"\"g\"\"\",12.25\n");
  ASSERT_EQ(Run("SELECT id, score, blob FROM t WHERE id <= 2 ORDER BY id", "json"), 0);
  EXPECT_EQ(out_.str(),
            "[\n  {\n    \"id\": 1,\n    \"score\": 0.5,\n    \"blob\": \"<blob 2 bytes>\"\n  },\n"
            "  {\n    \"id\": 2,\n    \"score\": null,\n    \"blob\": null\n  }\n]\n");
}

TEST_F(QueryCommandTest, RowLimitTruncates) {
  ASSERT_EQ(Run("SELECT id FROM t ORDER BY id", "table", 2), 0);
  EXPECT_NE(out_.str().find("(output truncated at 2 rows)"), std::string::npos);
}

TEST_F(QueryCommandTest, WritesAreRefusedAndChangeNothing) {
  const std::vector<std::string> writes = {
      "DELETE FROM t",
      "UPDATE t SET name = 'x'",
      "INSERT INTO t(id) VALUES (9)",
      "DROP TABLE t",
      "CREATE TABLE u(x)",
      "PRAGMA user_version = 99",
      "PRAGMA journal_mode = DELETE",
      "ATTACH DATABASE '/tmp/other.db' AS other",
      "SELECT load_extension('/tmp/evil.so')",
      "SELECT 1; DELETE FROM t",
      "WITH x AS (SELECT 1) DELETE FROM t",
      "VACUUM",
  };
  for (const std::string& sql : writes) {
    EXPECT_EQ(Run(sql), 1) << sql;
    EXPECT_FALSE(err_.str().empty()) << sql;
  }
  EXPECT_EQ(Rows(), 3);
  Run("PRAGMA user_version", "csv");
  EXPECT_EQ(out_.str(), "user_version\n0\n");
  EXPECT_EQ(Run("DELETE FROM t"), 1);
  EXPECT_EQ(err_.str(),
            "gridrun query: refused: a statement that writes (queries are read-only; the "
            "database was not changed)\n");
}

TEST_F(QueryCommandTest, ClearErrors) {
  EXPECT_EQ(Run("SELEC 1"), 1);
  EXPECT_EQ(err_.str(), "gridrun query: SQL error: near \"SELEC\": syntax error\n");
  EXPECT_EQ(Run("SELECT nope FROM t"), 1);
  EXPECT_EQ(err_.str(), "gridrun query: SQL error: no such column: nope\n");
  EXPECT_EQ(Run("SELECT 1", "xml"), 1);
  EXPECT_EQ(err_.str(), "gridrun query: --format: 'xml' is not one of table, csv, json\n");
  db_ = dir_ + "/missing.db";
  EXPECT_EQ(Run("SELECT 1"), 1);
  EXPECT_EQ(err_.str(), "gridrun query: database " + dir_ + "/missing.db does not exist\n");
  EXPECT_FALSE(std::filesystem::exists(db_));
}

TEST_F(QueryCommandTest, LongQueriesStopAtTheTimeLimit) {
  QueryOptions options;
  options.db_path = db_;
  options.sql =
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
  options.timeout = "200ms";
  EXPECT_EQ(RunQuery(options, out_, err_), 1);
  EXPECT_EQ(err_.str(), "gridrun query: query stopped after the time limit of 200 ms\n");
}

}  // namespace query_command_test
}  // namespace
}  // namespace gridrun::cli
