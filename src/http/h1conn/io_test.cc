#include "http/h1conn/io.h"

#include <gtest/gtest.h>

namespace trellis::http::h1::detail {
namespace {

TEST(ReadBuffer, ReleaseIfEmptyGivesTheBlockBackAndPrepareTakesItAgain) {
  ReadBuffer buffer;
  auto space = buffer.prepare(ReadBuffer::kBlockSize);
  EXPECT_EQ(buffer.capacity(), ReadBuffer::kBlockSize);
  const void* block = space.data();
  buffer.commit(5);
  buffer.release_if_empty();  // not empty: kept
  EXPECT_EQ(buffer.capacity(), ReadBuffer::kBlockSize);
  buffer.consume(5);
  buffer.release_if_empty();
  EXPECT_EQ(buffer.capacity(), 0u);
  EXPECT_TRUE(buffer.empty());
  // The block went to this thread's cache: the next connection's buffer reuses it.
  ReadBuffer other;
  EXPECT_EQ(other.prepare(ReadBuffer::kBlockSize).data(), block);
}

TEST(ReadBuffer, DestroyedBufferRecyclesItsBlock) {
  const void* block = nullptr;
  {
    ReadBuffer buffer;
    block = buffer.prepare(100).data();  // a small first allocation is not a block
    EXPECT_EQ(buffer.capacity(), 100u);
    buffer.commit(10);
    block = buffer.prepare(ReadBuffer::kBlockSize - 10).data();  // grows to exactly one block
    EXPECT_EQ(buffer.capacity(), ReadBuffer::kBlockSize);
    block = buffer.data().data();
    EXPECT_EQ(buffer.size(), 10u);
  }
  ReadBuffer next;
  EXPECT_EQ(next.prepare(1024 * 16).data(), block);
}

TEST(ReadBuffer, MovedBufferKeepsTheBytes) {
  ReadBuffer a;
  a.append("hello");
  ReadBuffer b(std::move(a));
  EXPECT_EQ(b.data(), "hello");
  ReadBuffer c;
  c.append("x");
  c = std::move(b);
  EXPECT_EQ(c.data(), "hello");
}

TEST(ReadBuffer, LargeHeadsStillGrowBeyondABlock) {
  ReadBuffer buffer;
  std::string big(40000, 'a');
  buffer.append(big);
  EXPECT_EQ(buffer.data(), big);
  EXPECT_GE(buffer.capacity(), big.size());
  buffer.consume(big.size());
  buffer.release_if_empty();
  EXPECT_EQ(buffer.capacity(), 0u);
}

}  // namespace
}  // namespace trellis::http::h1::detail
