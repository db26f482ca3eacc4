#include "control/identity/token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/strings.h"

namespace trellis::control::identity {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kVersion = "v1";

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace

const char* to_string(TokenError e) {
  switch (e) {
    case TokenError::kMissing: return "no_token";
    case TokenError::kMalformed: return "malformed_token";
    case TokenError::kBadSignature: return "bad_signature";
    case TokenError::kExpired: return "expired_token";
  }
  return "unknown";
}

std::string base64url_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == data.size()) {
    const uint32_t v = uint8_t(data[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (i + 2 == data.size()) {
    const uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

base::Result<std::string, std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return base::unexpected(std::string("invalid base64url length"));
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) {
      return base::unexpected(std::string("invalid base64url character"));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero (canonical encoding), so one token has one spelling.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return base::unexpected(std::string("non-canonical base64url"));
  }
  return out;
}

std::string issue_token(std::string_view key, const TokenClaims& claims) {
  const nlohmann::json payload = {{"sa", claims.service_account},
                                  {"ns", claims.ns},
                                  {"iat", claims.issued_at},
                                  {"exp", claims.expires_at}};
  const std::string signed_part = std::string(kVersion) + "." + base64url_encode(payload.dump());
  return signed_part + "." + base64url_encode(hmac_sha256(key, signed_part));
}

base::Result<TokenClaims, TokenError> verify_token(std::string_view key, std::string_view token,
                                                   std::chrono::system_clock::time_point now) {
  // A token file usually ends with a newline.
  token = base::trim(token);
  if (token.empty()) return base::unexpected(TokenError::kMissing);
  if (token.size() > kMaxTokenBytes) return base::unexpected(TokenError::kMalformed);
  const auto parts = base::split(token, '.');
  if (parts.size() != 3 || parts[0] != kVersion) return base::unexpected(TokenError::kMalformed);
  const std::string_view signed_part = token.substr(0, parts[0].size() + 1 + parts[1].size());
  auto signature = base64url_decode(parts[2]);
  if (!signature) return base::unexpected(TokenError::kMalformed);
  const std::string expected = hmac_sha256(key, signed_part);
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return base::unexpected(TokenError::kBadSignature);
  }
  auto payload = base64url_decode(parts[1]);
  if (!payload) return base::unexpected(TokenError::kMalformed);
  TokenClaims claims;
  try {
    const auto j = nlohmann::json::parse(*payload);
    if (!j.is_object() || !j.contains("sa") || !j.contains("ns") || !j.contains("iat") ||
        !j.contains("exp") || !j["sa"].is_string() || !j["ns"].is_string() ||
        !j["iat"].is_number_integer() || !j["exp"].is_number_integer()) {
      return base::unexpected(TokenError::kMalformed);
    }
    claims.service_account = j["sa"].get<std::string>();
    claims.ns = j["ns"].get<std::string>();
    claims.issued_at = j["iat"].get<int64_t>();
    claims.expires_at = j["exp"].get<int64_t>();
  } catch (const std::exception&) {
    return base::unexpected(TokenError::kMalformed);
  }
  if (claims.service_account.empty() || claims.ns.empty()) {
    return base::unexpected(TokenError::kMalformed);
  }
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (claims.expires_at <= now_s) return base::unexpected(TokenError::kExpired);
  return claims;
}

base::Result<base::Ok, std::string> write_file_atomically(const std::string& path,
                                                          std::string_view content, int mode) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  if (ec) return base::unexpected(target.parent_path().string() + ": " + ec.message());
  std::string tmp = (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return base::unexpected(tmp + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, static_cast<mode_t>(mode)) == 0;
  size_t off = 0;
  while (ok && off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) off += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(ok ? errno : saved);
    ::unlink(tmp.c_str());
    return base::unexpected(path + ": " + err);
  }
  return base::Ok{};
}

base::Result<std::string, std::string> load_or_create_token_key(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return base::unexpected(path + ": cannot read the token key");
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string key = ss.str();
    if (key.size() != kTokenKeyBytes) {
      return base::unexpected(path + ": a token key must be exactly " +
                              std::to_string(kTokenKeyBytes) + " bytes, found " +
                              std::to_string(key.size()));
    }
    return key;
  }
  std::string key(kTokenKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) !=
      1) {
    return base::unexpected(std::string("RAND_bytes failed"));
  }
  auto written = write_file_atomically(path, key, 0600);
  if (!written) return base::unexpected(written.error());
  return key;
}

}  // namespace trellis::control::identity
