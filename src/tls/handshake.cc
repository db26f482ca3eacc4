#include "tls/handshake.h"

#include <openssl/err.h>

namespace trellis::tls {
namespace {

using namespace net::asio::experimental::awaitable_operators;
namespace ssl = net::asio::ssl;

// Translates a failed handshake into our error: first what certificate verification recorded
// (our callback sets HOSTNAME_MISMATCH / APPLICATION_VERIFICATION), then OpenSSL's reason.
Error classify_failure(SSL* ssl, const net::error_code& ec) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH) {
    auto expected = expected_server_identity(ssl);
    return {ErrorCode::kPeerIdentityMismatch,
            "server certificate is not " + expected.value_or("the expected identity")};
  }
  if (verify == X509_V_ERR_APPLICATION_VERIFICATION) {
    return {ErrorCode::kNoPeerIdentity, "peer certificate has no single valid DNS identity"};
  }
  if (verify != X509_V_OK) {
    return {ErrorCode::kPeerCertificateInvalid, X509_verify_cert_error_string(verify)};
  }
  if (ec.category() == ssl::error::get_stream_category()) {
    return {ErrorCode::kHandshakeFailed, "connection closed during the handshake"};
  }
  if (ec.category() == net::asio::error::get_ssl_category()) {
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return {ErrorCode::kPeerCertificateRequired, ec.message()};
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      case SSL_R_NO_SHARED_CIPHER:
      case SSL_R_NO_SHARED_GROUPS:
      case SSL_R_NO_SUITABLE_KEY_SHARE:
      case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
      case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
        return {ErrorCode::kUnsupportedProtocol, ec.message()};
      default: break;
    }
  }
  return {ErrorCode::kHandshakeFailed, ec.message()};
}

net::awaitable<Result<PeerInfo>> handshake(TlsStream& stream, ssl::stream_base::handshake_type type,
                                           std::chrono::milliseconds timeout) {
  net::asio::steady_timer timer(co_await net::asio::this_coro::executor, timeout);
  // `||` cancels the loser: the timer, or the handshake through its cancellation slot (which
  // PrefixedStream forwards to the socket read).
  auto outcome = co_await (stream.async_handshake(type, net::use_nothrow) ||
                           timer.async_wait(net::use_nothrow));
  // Asio takes one error from OpenSSL's per-thread queue; drop the rest so they are not
  // blamed on the next OpenSSL call this thread makes.
  ERR_clear_error();
  if (outcome.index() == 1) {
    co_return fail(ErrorCode::kHandshakeTimeout,
                   "no handshake within " + std::to_string(timeout.count()) + "ms");
  }
  const auto [ec] = std::get<0>(outcome);
  if (ec) co_return base::unexpected(classify_failure(stream.native_handle(), ec));
  co_return verified_peer(stream.native_handle());
}

}  // namespace

Result<TlsStream> make_server_stream(const ServerContext& context, net::tcp::socket socket,
                                     std::string prefix) {
  auto ssl = context.new_session();
  if (!ssl) return base::unexpected(ssl.error());
  // The stream owns the SSL from here (Asio frees it).
  return TlsStream(net::PrefixedStream<net::tcp::socket>(std::move(socket), std::move(prefix)),
                   ssl->release());
}

Result<TlsStream> make_client_stream(const ClientContext& context, net::tcp::socket socket,
                                     const Identity& server,
                                     const std::vector<std::string>* alpn) {
  auto ssl = context.new_session(server, alpn);
  if (!ssl) return base::unexpected(ssl.error());
  return TlsStream(net::PrefixedStream<net::tcp::socket>(std::move(socket)), ssl->release());
}

net::awaitable<Result<PeerInfo>> server_handshake(TlsStream& stream,
                                                  std::chrono::milliseconds timeout) {
  return handshake(stream, ssl::stream_base::server, timeout);
}

net::awaitable<Result<PeerInfo>> client_handshake(TlsStream& stream,
                                                  std::chrono::milliseconds timeout) {
  return handshake(stream, ssl::stream_base::client, timeout);
}

}  // namespace trellis::tls
