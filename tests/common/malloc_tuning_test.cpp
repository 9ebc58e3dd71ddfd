#include "common/malloc_tuning.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <stdlib.h>

#include <cstring>

// AddressSanitizer replaces glibc's malloc (mallopt and mallinfo2 then do
// nothing): there is nothing to tune in build-asan.
#if defined(__SANITIZE_ADDRESS__)
#define GRIDRUN_MALLOC_REPLACED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GRIDRUN_MALLOC_REPLACED 1
#endif
#endif

namespace gridrun {
namespace {
namespace malloc_tuning_test {

// An 8 MiB block (an activation of a big batch) must come from the heap and
// stay there after free(), not be mmapped and unmapped: glibc's default
// threshold (128 KiB until it adapts) would map it.
TEST(MallocTuningTest, BigBlocksAreKeptInTheHeapAfterFree) {
#ifdef GRIDRUN_MALLOC_REPLACED
  GTEST_SKIP() << "AddressSanitizer's allocator replaces glibc malloc";
#endif
  ASSERT_EQ(unsetenv("GLIBC_TUNABLES"), 0);
  ASSERT_TRUE(KeepFreedMemoryForReuse());
  constexpr size_t kBytes = 8 << 20;
  const size_t mapped_before = mallinfo2().hblkhd;
  char* block = static_cast<char*>(malloc(kBytes));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBytes);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before) << "the block was mmapped";
  free(block);
  EXPECT_GE(mallinfo2().fordblks, kBytes) << "the freed block went back to the kernel";
}

TEST(MallocTuningTest, TheUsersOwnMallocSettingsWin) {
  ASSERT_EQ(setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=4096", 1), 0);
  EXPECT_FALSE(KeepFreedMemoryForReuse());
  ASSERT_EQ(unsetenv("GLIBC_TUNABLES"), 0);
  ASSERT_EQ(setenv("MALLOC_TRIM_THRESHOLD_", "4096", 1), 0);
  EXPECT_FALSE(KeepFreedMemoryForReuse());
  ASSERT_EQ(unsetenv("MALLOC_TRIM_THRESHOLD_"), 0);
}

}  // namespace malloc_tuning_test
}  // namespace
}  // namespace gridrun
