#include "tls/client_hello.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "tls/test_support.h"

namespace trellis::tls {
namespace {

using ::testing::ElementsAre;
using testing::take;
using testing::web_identity;

// --- Real hellos, captured from OpenSSL clients in-process ---

// Runs the client side of `ssl` until it has written its first flight: the ClientHello record.
std::string capture_hello(SSL* ssl) {
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rbio, wbio);  // the SSL owns both now
  SSL_set_connect_state(ssl);
  EXPECT_EQ(SSL_do_handshake(ssl), -1);
  EXPECT_EQ(SSL_get_error(ssl, -1), SSL_ERROR_WANT_READ);
  char* data = nullptr;
  const long n = BIO_get_mem_data(wbio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// What the mesh client sends: TLS 1.3, SNI = the server identity, our ALPN offer.
std::string mesh_hello() {
  static const std::string hello = [] {
    testing::Pki pki = testing::Pki::create();
    auto client = take(ClientContext::create({{"transport.l5d.io/v1", "h2"}}, nullptr,
                                             pki.anchors()));
    SslPtr ssl = take(client->new_session(web_identity()));
    return capture_hello(ssl.get());
  }();
  return hello;
}

// A stock OpenSSL client capped at TLS 1.2, without SNI or ALPN.
std::string legacy_hello() {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION);
  SslPtr ssl(SSL_new(ctx.get()));
  return capture_hello(ssl.get());
}

// --- A builder for exact, hand-made hellos ---

std::string u8(size_t v) { return std::string(1, static_cast<char>(v)); }
std::string u16(size_t v) { return u8(v >> 8 & 0xff) + u8(v & 0xff); }
std::string u24(size_t v) { return u8(v >> 16 & 0xff) + u16(v & 0xffff); }

struct Ext {
  uint16_t type;
  std::string data;
};

Ext sni(const std::vector<std::pair<uint8_t, std::string>>& names) {
  std::string list;
  for (const auto& [type, name] : names) list += u8(type) + u16(name.size()) + name;
  return {0, u16(list.size()) + list};
}

Ext alpn(const std::vector<std::string>& protocols) {
  std::string list;
  for (const auto& p : protocols) list += u8(p.size()) + p;
  return {16, u16(list.size()) + list};
}

Ext versions(const std::vector<uint16_t>& vs) {
  std::string list;
  for (uint16_t v : vs) list += u16(v);
  return {43, u8(list.size()) + list};
}

struct Body {
  std::string session_id = std::string(32, 's');
  std::string cipher_suites = u16(0x1301) + u16(0x1302);
  std::string compression = u8(0);
  std::optional<std::vector<Ext>> extensions = std::vector<Ext>{};

  std::string encode() const {
    std::string out = u16(0x0303) + std::string(32, 'r') + u8(session_id.size()) + session_id +
                      u16(cipher_suites.size()) + cipher_suites + u8(compression.size()) +
                      compression;
    if (extensions) {
      std::string exts;
      for (const auto& e : *extensions) exts += u16(e.type) + u16(e.data.size()) + e.data;
      out += u16(exts.size()) + exts;
    }
    return out;
  }
};

std::string handshake(const std::string& body) { return u8(1) + u24(body.size()) + body; }

// Wraps a handshake message in records of at most `chunk` bytes.
std::string records(const std::string& message, size_t chunk = 16384) {
  std::string out;
  for (size_t i = 0; i < message.size(); i += chunk) {
    const std::string part = message.substr(i, chunk);
    out += "\x16\x03\x01" + u16(part.size()) + part;
  }
  return out;
}

std::string hello(const Body& body, size_t chunk = 16384) {
  return records(handshake(body.encode()), chunk);
}

HelloParse parse(const std::string& s) { return parse_client_hello(s); }

void expect_malformed(const std::string& input, HelloError error) {
  const HelloParse r = parse(input);
  EXPECT_EQ(r.status, HelloStatus::kMalformed) << to_string(r.status);
  EXPECT_EQ(r.error, error) << to_string(r.error);
}

// --- Real hellos ---

TEST(ClientHello, ParsesTheMeshClientHello) {
  const std::string h = mesh_hello();
  const HelloParse r = parse(h);
  ASSERT_EQ(r.status, HelloStatus::kClientHello) << to_string(r.error);
  EXPECT_TRUE(r.hello.has_server_name);
  EXPECT_EQ(r.hello.server_name, web_identity().str());
  EXPECT_THAT(r.hello.alpn, ElementsAre("transport.l5d.io/v1", "h2"));
  EXPECT_TRUE(r.hello.offers_tls13);
  EXPECT_EQ(r.hello.legacy_version, 0x0303);
  EXPECT_EQ(r.hello.bytes, h.size());
}

TEST(ClientHello, ParsesALegacyHelloWithoutSniOrAlpn) {
  const std::string h = legacy_hello();
  const HelloParse r = parse(h);
  ASSERT_EQ(r.status, HelloStatus::kClientHello) << to_string(r.error);
  EXPECT_FALSE(r.hello.has_server_name);
  EXPECT_EQ(r.hello.server_name, "");
  EXPECT_TRUE(r.hello.alpn.empty());
  EXPECT_FALSE(r.hello.offers_tls13);
}

TEST(ClientHello, EveryTruncationNeedsMore) {
  for (const std::string& h : {mesh_hello(), legacy_hello()}) {
    for (size_t n = 0; n < h.size(); ++n) {
      const HelloParse r = parse(h.substr(0, n));
      ASSERT_EQ(r.status, HelloStatus::kNeedMore) << "at " << n << ": " << to_string(r.error);
    }
  }
}

TEST(ClientHello, BytesAfterTheHelloAreNotItsConcern) {
  const std::string h = mesh_hello();
  const HelloParse r = parse(h + "\x14\x03\x03\x00\x01\x01" + std::string(100, 'x'));
  ASSERT_EQ(r.status, HelloStatus::kClientHello);
  EXPECT_EQ(r.hello.bytes, h.size());
  EXPECT_EQ(r.hello.server_name, web_identity().str());
}

TEST(ClientHello, SplitOverRecordsIsReassembled) {
  const std::string h = mesh_hello();
  const std::string message = h.substr(5);  // strip the single record header
  for (size_t chunk : {1u, 2u, 3u, 4u, 5u, 7u, 64u, 100u, 255u}) {
    const std::string split = records(message, chunk);
    const HelloParse r = parse(split);
    ASSERT_EQ(r.status, HelloStatus::kClientHello) << "chunk " << chunk;
    EXPECT_EQ(r.hello.server_name, web_identity().str());
    EXPECT_THAT(r.hello.alpn, ElementsAre("transport.l5d.io/v1", "h2"));
    EXPECT_EQ(r.hello.bytes, split.size());
    if (chunk >= 64) {  // every truncation of a split hello still just needs more
      for (size_t n = 0; n < split.size(); ++n) {
        ASSERT_EQ(parse(split.substr(0, n)).status, HelloStatus::kNeedMore) << n;
      }
    }
  }
}

TEST(ClientHello, CorruptingAnyByteNeverBreaksTheParser) {
  // A cheap in-test fuzz over the real hello: every position, several values. Whatever the
  // answer, a parsed hello must stay inside the input.
  const std::string h = mesh_hello();
  for (size_t i = 0; i < h.size(); ++i) {
    const uint8_t orig = static_cast<uint8_t>(h[i]);
    for (uint8_t v : {uint8_t{0}, uint8_t{0xff}, static_cast<uint8_t>(orig + 1),
                      static_cast<uint8_t>(orig - 1), static_cast<uint8_t>(orig ^ 0x80)}) {
      std::string c = h;
      c[i] = static_cast<char>(v);
      const HelloParse r = parse(c);
      if (r.status == HelloStatus::kClientHello) {
        ASSERT_LE(r.hello.bytes, c.size());
        ASSERT_EQ(r.hello.server_name.find('\0'), std::string::npos);
      }
    }
  }
}

// --- Not TLS ---

TEST(ClientHello, FirstBytesDecideTls) {
  EXPECT_EQ(parse("").status, HelloStatus::kNeedMore);
  EXPECT_EQ(parse("\x16").status, HelloStatus::kNeedMore);
  EXPECT_EQ(parse("\x16\x03").status, HelloStatus::kNeedMore);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\n\r\n").status, HelloStatus::kNotTls);
  EXPECT_EQ(parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").status, HelloStatus::kNotTls);
  EXPECT_EQ(parse(std::string("\x80\x2e\x01\x00\x02", 5)).status, HelloStatus::kNotTls);  // SSLv2
  EXPECT_EQ(parse(std::string("\x17\x03\x03\x00\x10", 5)).status, HelloStatus::kNotTls);
  EXPECT_EQ(parse(std::string("\x16\x02", 2)).status, HelloStatus::kNotTls);
  EXPECT_EQ(parse(std::string("\x16\x03\x05", 3)).status, HelloStatus::kNotTls);
  EXPECT_EQ(parse(std::string("\x16\x03\x00", 3)).status, HelloStatus::kNeedMore);  // SSL 3.0
}

// --- Malformed, each with its reason ---

TEST(ClientHello, RecordLengths) {
  const std::string message = handshake(Body{}.encode());
  expect_malformed("\x16\x03\x01" + u16(0) + message, HelloError::kRecordLength);
  expect_malformed("\x16\x03\x01" + u16(16385) + message, HelloError::kRecordLength);
  // A record shorter than the handshake message: the rest must come in another handshake
  // record, so an alert record there is refused.
  const std::string first = "\x16\x03\x01" + u16(10) + message.substr(0, 10);
  EXPECT_EQ(parse(first).status, HelloStatus::kNeedMore);
  expect_malformed(first + std::string("\x15\x03\x03\x00\x02\x02\x28", 7),
                   HelloError::kUnexpectedRecord);
  expect_malformed(first + "\x15", HelloError::kUnexpectedRecord);
  expect_malformed(first + "\x16\x03\x09" + u16(1) + "x", HelloError::kUnexpectedRecord);
}

TEST(ClientHello, HandshakeTypeAndLength) {
  std::string server_hello = hello(Body{});
  server_hello[5] = 2;
  expect_malformed(server_hello, HelloError::kNotClientHello);
  expect_malformed(std::string("\x16\x03\x01\x00\x01\x02", 6), HelloError::kNotClientHello);
  // A declared length that cannot fit under the cap is refused at once.
  expect_malformed("\x16\x03\x01" + u16(100) + u8(1) + u24(0xffffff), HelloError::kTooLarge);
  expect_malformed("\x16\x03\x01" + u16(100) + u8(1) + u24(kMaxClientHelloBytes),
                   HelloError::kTooLarge);
  // A declared length longer than the body that follows, in a complete record: the body's
  // own fields run out first.
  const std::string body = Body{}.encode();
  expect_malformed(records(u8(1) + u24(body.size() - 1) + body.substr(0, body.size() - 1)),
                   HelloError::kTruncatedField);
}

TEST(ClientHello, BodyVectors) {
  Body odd;
  odd.cipher_suites = u16(0x1301) + u8(0x13);
  expect_malformed(hello(odd), HelloError::kBadVector);
  Body none;
  none.cipher_suites = "";
  expect_malformed(hello(none), HelloError::kBadVector);
  Body no_compression;
  no_compression.compression = "";
  expect_malformed(hello(no_compression), HelloError::kBadVector);
  Body long_session;
  long_session.session_id = std::string(33, 's');
  expect_malformed(hello(long_session), HelloError::kBadVector);
  // Extensions are optional before TLS 1.3.
  Body bare;
  bare.extensions.reset();
  const HelloParse r = parse(hello(bare));
  EXPECT_EQ(r.status, HelloStatus::kClientHello);
  EXPECT_FALSE(r.hello.has_server_name);
}

TEST(ClientHello, CorruptedLengthsInsideTheBody) {
  const std::string good = handshake(Body{{}, u16(0x1301), u8(0), std::vector<Ext>{
      sni({{0, "a.example"}})}}.encode());
  ASSERT_EQ(parse(records(good)).status, HelloStatus::kClientHello);
  // Offsets in the handshake message: 4 header, 2 version, 32 random, then the session id
  // length at 38 (empty), cipher suites length at 39, compression length at 43, extensions
  // length at 45, first extension's length at 49, server_name list length at 51, host_name
  // length at 54.
  struct Case {
    size_t offset;
    std::string value;
    HelloError error;
  };
  const std::vector<Case> cases = {
      {38, u8(200), HelloError::kTruncatedField},       // session id past the end
      {39, u16(0xffff), HelloError::kTruncatedField},   // cipher suites past the end
      {43, u8(0xff), HelloError::kTruncatedField},      // compression methods past the end
      {45, u16(0xffff), HelloError::kTruncatedField},   // extensions block past the end
      {45, u16(1), HelloError::kTrailingBytes},         // extensions block shorter than its data
      {49, u16(0xffff), HelloError::kTruncatedField},   // one extension past the block
      {49, u16(1), HelloError::kTruncatedField},        // extension data cut inside the list
      {51, u16(0xffff), HelloError::kTruncatedField},   // server_name list past the extension
      {51, u16(3), HelloError::kTrailingBytes},         // list shorter than the extension
      {54, u16(0xffff), HelloError::kTruncatedField},   // host_name past the list
      {54, u16(0), HelloError::kBadServerName},         // empty host_name
  };
  for (const Case& c : cases) {
    std::string corrupt = good;
    corrupt.replace(c.offset, c.value.size(), c.value);
    const HelloParse r = parse(records(corrupt));
    EXPECT_EQ(r.status, HelloStatus::kMalformed) << "offset " << c.offset;
    EXPECT_EQ(r.error, c.error) << "offset " << c.offset << ": " << to_string(r.error);
  }
}

TEST(ClientHello, ServerNameRules) {
  auto with = [](std::vector<Ext> exts) {
    Body b;
    b.extensions = std::move(exts);
    return hello(b);
  };
  expect_malformed(with({sni({{0, "a.example"}, {0, "b.example"}})}), HelloError::kBadServerName);
  expect_malformed(with({sni({{0, ""}})}), HelloError::kBadServerName);
  expect_malformed(with({sni({{0, std::string("web\0.evil", 9)}})}), HelloError::kBadServerName);
  expect_malformed(with({sni({})}), HelloError::kBadServerName);
  expect_malformed(with({Ext{0, ""}}), HelloError::kTruncatedField);
  expect_malformed(with({Ext{0, sni({{0, "a"}}).data + "x"}}), HelloError::kTrailingBytes);
  expect_malformed(with({sni({{0, "a"}}), sni({{0, "a"}})}), HelloError::kDuplicateExtension);
  // Unknown name types are skipped; host_name is what counts.
  const HelloParse r = parse(with({sni({{7, "opaque"}, {0, "a.example"}})}));
  ASSERT_EQ(r.status, HelloStatus::kClientHello);
  EXPECT_EQ(r.hello.server_name, "a.example");
}

TEST(ClientHello, AlpnRules) {
  auto with = [](std::vector<Ext> exts) {
    Body b;
    b.extensions = std::move(exts);
    return hello(b);
  };
  expect_malformed(with({alpn({})}), HelloError::kBadAlpn);
  expect_malformed(with({alpn({"h2", ""})}), HelloError::kBadAlpn);
  expect_malformed(with({Ext{16, u16(3) + u8(5) + "h2"}}), HelloError::kTruncatedField);
  expect_malformed(with({alpn({"h2"}), alpn({"h2"})}), HelloError::kDuplicateExtension);
  const HelloParse r = parse(with({alpn({"h2", "http/1.1"}), versions({0x0304, 0x0303})}));
  ASSERT_EQ(r.status, HelloStatus::kClientHello);
  EXPECT_THAT(r.hello.alpn, ElementsAre("h2", "http/1.1"));
  EXPECT_TRUE(r.hello.offers_tls13);
  expect_malformed(with({Ext{43, u8(3) + u16(0x0304) + u8(3)}}), HelloError::kBadVector);
}

TEST(ClientHello, SizeCap) {
  // A hello that fits just under the cap parses; one byte more and it cannot.
  auto padded = [](size_t total) {
    Body b;
    b.extensions = std::vector<Ext>{sni({{0, "a.example"}})};
    const size_t base = records(handshake(b.encode())).size();
    b.extensions->push_back(Ext{21, std::string(total - base - 4, '\0')});  // padding ext
    return records(handshake(b.encode()));
  };
  const std::string fits = padded(kMaxClientHelloBytes);
  ASSERT_EQ(fits.size(), kMaxClientHelloBytes);
  EXPECT_EQ(parse(fits).status, HelloStatus::kClientHello);
  expect_malformed(padded(kMaxClientHelloBytes + 1), HelloError::kTooLarge);

  // Tiny records: the headers count too. 3000 one-byte records need 18000 bytes.
  Body b;
  b.extensions = std::vector<Ext>{Ext{21, std::string(3000, '\0')}};
  const std::string tiny = records(handshake(b.encode()), 1);
  EXPECT_EQ(parse(tiny.substr(0, kMaxClientHelloBytes - 1)).status, HelloStatus::kNeedMore);
  expect_malformed(tiny, HelloError::kTooLarge);
}

// The fuzz corpus doubles as a table of named cases: each file's expected answer.
TEST(ClientHello, FuzzCorpusAnswers) {
  struct Expect {
    const char* file;
    HelloStatus status;
    HelloError error;
  };
  const Expect cases[] = {
      {"mesh_tls13_sni_alpn", HelloStatus::kClientHello, HelloError::kNone},
      {"tls12_only", HelloStatus::kClientHello, HelloError::kNone},
      {"default_client_sni", HelloStatus::kClientHello, HelloError::kNone},
      {"mesh_split_64", HelloStatus::kClientHello, HelloError::kNone},
      {"mesh_split_1", HelloStatus::kClientHello, HelloError::kNone},
      {"mesh_trailing_data", HelloStatus::kClientHello, HelloError::kNone},
      {"no_extensions", HelloStatus::kClientHello, HelloError::kNone},
      {"mesh_truncated", HelloStatus::kNeedMore, HelloError::kNone},
      {"two_host_names", HelloStatus::kMalformed, HelloError::kBadServerName},
      {"sni_with_nul", HelloStatus::kMalformed, HelloError::kBadServerName},
      {"empty_alpn_protocol", HelloStatus::kMalformed, HelloError::kBadAlpn},
      {"duplicate_extension", HelloStatus::kMalformed, HelloError::kDuplicateExtension},
      {"corrupt_extension_length", HelloStatus::kMalformed, HelloError::kTruncatedField},
      {"record_length_zero", HelloStatus::kMalformed, HelloError::kRecordLength},
      {"handshake_too_large", HelloStatus::kMalformed, HelloError::kTooLarge},
      {"server_hello_type", HelloStatus::kMalformed, HelloError::kNotClientHello},
      {"alert_between_fragments", HelloStatus::kMalformed, HelloError::kUnexpectedRecord},
      {"padded_to_cap", HelloStatus::kMalformed, HelloError::kTooLarge},
      {"http1_request", HelloStatus::kNotTls, HelloError::kNone},
      {"http2_preface", HelloStatus::kNotTls, HelloError::kNone},
      {"sslv2_hello", HelloStatus::kNotTls, HelloError::kNone},
  };
  for (const Expect& c : cases) {
    std::ifstream in(std::string(TRELLIS_SOURCE_DIR) + "/fuzz/client_hello/corpus/" + c.file,
                     std::ios::binary);
    ASSERT_TRUE(in) << c.file;
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const HelloParse r = parse(data);
    EXPECT_EQ(r.status, c.status) << c.file << ": " << to_string(r.status);
    EXPECT_EQ(r.error, c.error) << c.file << ": " << to_string(r.error);
  }
}

}  // namespace
}  // namespace trellis::tls
