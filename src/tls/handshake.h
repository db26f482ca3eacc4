#pragma once
// TLS over Asio for connection coroutines: a stream type, constructors that bind a connection to
// the current context snapshot, and handshakes with a deadline that report precise errors.
//
//   // inbound, after the ClientHello peek read `peeked` and its SNI is our identity:
//   auto stream = make_server_stream(server_ctx, std::move(socket), std::move(peeked));
//   auto peer = co_await server_handshake(*stream, std::chrono::seconds(10));
//   if (!peer) { count(to_string(peer.error().code)); co_return; }
//   // peer->identity is the verified client identity, peer->alpn the negotiated protocol.

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/ssl.hpp>

#include "net/asio.h"
#include "net/prefixed_stream.h"
#include "tls/context.h"
#include "tls/error.h"

namespace trellis::tls {

using TlsStream = net::asio::ssl::stream<net::PrefixedStream<net::tcp::socket>>;

// `prefix` holds bytes already read from the socket (the peeked ClientHello); the handshake
// consumes them first.
Result<TlsStream> make_server_stream(const ServerContext& context, net::tcp::socket socket,
                                     std::string prefix = {});
Result<TlsStream> make_client_stream(const ClientContext& context, net::tcp::socket socket,
                                     const Identity& server,
                                     const std::vector<std::string>* alpn = nullptr);

// Run the handshake; on success return what was verified about the peer (verified_peer). The
// handshake is cancelled when `timeout` passes (kHandshakeTimeout); the stream is then
// unusable and should be closed. Failures map to the most precise ErrorCode available:
// kUnsupportedProtocol, kPeerCertificateRequired, kPeerCertificateInvalid,
// kPeerIdentityMismatch, kNoPeerIdentity, else kHandshakeFailed with OpenSSL's reason.
net::awaitable<Result<PeerInfo>> server_handshake(TlsStream& stream,
                                                  std::chrono::milliseconds timeout);
net::awaitable<Result<PeerInfo>> client_handshake(TlsStream& stream,
                                                  std::chrono::milliseconds timeout);

}  // namespace trellis::tls
