// Character classes, validation helpers and InlineVector.

#include <gtest/gtest.h>

#include "http/h1/chars.h"
#include "http/h1/inline_vector.h"

namespace trellis::http::h1 {
namespace {

TEST(Chars, Token) {
  EXPECT_TRUE(is_token("GET"));
  EXPECT_TRUE(is_token("x-custom_header.v1!#$%&'*+^`|~"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("a b"));
  EXPECT_FALSE(is_token("a:b"));
  EXPECT_FALSE(is_token("a\"b"));
  EXPECT_FALSE(is_token("caf\xc3\xa9"));
  EXPECT_FALSE(is_token(std::string_view("a\0", 2)));
  for (char c : std::string_view("()<>@,;:\\\"/[]?={} \t")) EXPECT_FALSE(is_tchar(c)) << c;
}

TEST(Chars, FieldValue) {
  EXPECT_TRUE(is_valid_field_value(""));
  EXPECT_TRUE(is_valid_field_value("a\tb c"));
  EXPECT_TRUE(is_valid_field_value("\xc3\xa9"));
  EXPECT_EQ(check_field_value("a\rb"), FieldValueProblem::kCr);
  EXPECT_EQ(check_field_value("a\nb"), FieldValueProblem::kLf);
  EXPECT_EQ(check_field_value(std::string_view("a\0b", 3)), FieldValueProblem::kNul);
  EXPECT_EQ(check_field_value("a\x7f"), FieldValueProblem::kCtl);
  EXPECT_EQ(check_field_value("a\x1b"), FieldValueProblem::kCtl);
  EXPECT_EQ(check_field_value(" a"), FieldValueProblem::kSurroundingWhitespace);
  EXPECT_EQ(check_field_value("a\t"), FieldValueProblem::kSurroundingWhitespace);
  EXPECT_FALSE(is_valid_field_value("a\r\nb"));
}

TEST(Chars, CaseInsensitiveHelpers) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_FALSE(iequals("Content-Length", "content-lengtH "));
  EXPECT_EQ(trim_ows(" \t a b \t"), "a b");
  EXPECT_EQ(trim_ows("\r a"), "\r a");  // only SP and HTAB are OWS
  EXPECT_TRUE(list_contains_token("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(list_contains_token(",,close", "close"));
  EXPECT_FALSE(list_contains_token("closed", "close"));
}

TEST(Chars, HopByHopAndForbiddenTrailers) {
  for (const char* name : {"Connection", "keep-alive", "Proxy-Connection", "TE",
                           "Transfer-Encoding", "Upgrade", "HTTP2-Settings"}) {
    EXPECT_TRUE(is_hop_by_hop(name)) << name;
    EXPECT_TRUE(is_forbidden_trailer(name)) << name;
  }
  EXPECT_FALSE(is_hop_by_hop("Content-Length"));
  EXPECT_FALSE(is_hop_by_hop("Trailer"));
  for (const char* name : {"Content-Length", "Host", "Trailer", "Authorization",
                           "Proxy-Authorization"}) {
    EXPECT_TRUE(is_forbidden_trailer(name)) << name;
  }
  EXPECT_FALSE(is_forbidden_trailer("grpc-status"));
}

TEST(Chars, Authority) {
  EXPECT_TRUE(is_valid_authority("example.com", false));
  EXPECT_TRUE(is_valid_authority("example.com:8080", false));
  EXPECT_TRUE(is_valid_authority("[2001:db8::1]:443", true));
  EXPECT_TRUE(is_valid_authority("10.0.0.1:0", true));
  EXPECT_TRUE(is_valid_authority("a%41b", false));
  EXPECT_TRUE(is_valid_authority("", false));
  EXPECT_FALSE(is_valid_authority("", true));
  EXPECT_FALSE(is_valid_authority("example.com", true));
  EXPECT_FALSE(is_valid_authority("example.com:", false));
  EXPECT_FALSE(is_valid_authority("example.com:65536", false));
  EXPECT_FALSE(is_valid_authority("example.com:123456", false));
  EXPECT_FALSE(is_valid_authority(":80", false));
  EXPECT_FALSE(is_valid_authority("user@example.com", false));
  EXPECT_FALSE(is_valid_authority("a/b", false));
  EXPECT_FALSE(is_valid_authority("a b", false));
  EXPECT_FALSE(is_valid_authority("[zz]:1", true));
  EXPECT_FALSE(is_valid_authority("[::1", false));
  EXPECT_FALSE(is_valid_authority("[::1]x", false));
  EXPECT_FALSE(is_valid_authority("a%4", false));
}

TEST(InlineVector, StaysInlineThenSpills) {
  InlineVector<int, 4> v;
  for (int i = 0; i < 4; ++i) v.push_back(i);
  EXPECT_EQ(v.capacity(), 4u);
  v.push_back(4);
  EXPECT_EQ(v.capacity(), 8u);
  ASSERT_EQ(v.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(v[i], i);
  v.clear();
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.capacity(), 8u);  // clear keeps the capacity for the next message
}

TEST(InlineVector, CopyAndMoveInlineAndSpilled) {
  for (int n : {3, 9}) {
    InlineVector<int, 4> v;
    for (int i = 0; i < n; ++i) v.push_back(i * 10);
    InlineVector<int, 4> copy(v);
    ASSERT_EQ(copy.size(), static_cast<size_t>(n));
    copy[0] = 99;
    EXPECT_EQ(v[0], 0);  // deep copy
    InlineVector<int, 4> moved(std::move(copy));
    EXPECT_EQ(moved.size(), static_cast<size_t>(n));
    EXPECT_EQ(moved[0], 99);
    EXPECT_EQ(moved[n - 1], (n - 1) * 10);
    InlineVector<int, 4> assigned;
    assigned.push_back(1);
    assigned = v;
    EXPECT_EQ(assigned.size(), static_cast<size_t>(n));
    InlineVector<int, 4> move_assigned;
    for (int i = 0; i < 7; ++i) move_assigned.push_back(i);
    move_assigned = std::move(assigned);
    EXPECT_EQ(move_assigned.size(), static_cast<size_t>(n));
    EXPECT_EQ(move_assigned[n - 1], (n - 1) * 10);
  }
}

}  // namespace
}  // namespace trellis::http::h1
