#pragma once
// Service-account tokens (contract C-3): what trellis-control issues per service account, the
// runtime mounts into the pod, and the proxy presents on Certify.
//
//   v1.<b64url(payload)>.<b64url(HMAC-SHA256(key, "v1." + b64url(payload)))>
//   payload: {"sa":"web","ns":"emojivoto","iat":<unix s>,"exp":<unix s>}
//
// base64url without padding. Tokens are secrets: never log them.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trellis::control::identity {

inline constexpr size_t kTokenKeyBytes = 32;
// A token is a few hundred bytes; anything much larger is not one of ours.
inline constexpr size_t kMaxTokenBytes = 4096;

struct TokenClaims {
  std::string service_account;
  std::string ns;
  int64_t issued_at = 0;   // unix seconds
  int64_t expires_at = 0;  // unix seconds
};

enum class TokenError {
  kMissing,       // empty
  kMalformed,     // not three parts, bad base64, bad JSON, missing claims, wrong version
  kBadSignature,  // the HMAC does not verify (another key, or tampered)
  kExpired,       // exp is not in the future
};
const char* to_string(TokenError e);

std::string base64url_encode(std::string_view data);
base::Result<std::string, std::string> base64url_decode(std::string_view text);

std::string issue_token(std::string_view key, const TokenClaims& claims);

// Checks the signature first (constant time), then the claims, then expiry at `now`.
base::Result<TokenClaims, TokenError> verify_token(
    std::string_view key, std::string_view token,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Reads the 32-byte key from `path`, or creates it (mode 0600) with random bytes when missing.
// Errors (unreadable, wrong size) are for start-up.
base::Result<std::string, std::string> load_or_create_token_key(const std::string& path);

// Writes `content` to `path` atomically (temp file in the same directory + rename) with `mode`.
base::Result<base::Ok, std::string> write_file_atomically(const std::string& path,
                                                          std::string_view content, int mode);

}  // namespace trellis::control::identity
