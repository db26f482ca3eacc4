#pragma once
// The inbound TLS stage (contract C-7, linkerd.md §2.3). Detection saw the start of a TLS
// ClientHello; this stage reads the rest of it (up to tls::kMaxClientHelloBytes, within the
// detect timeout) and looks at the SNI:
//   - SNI == this proxy's identity: terminate with the mesh server context (TLS 1.3, client
//     certificate required and verified); the verified client identity becomes the
//     connection's client_identity, and detection runs again on the decrypted stream;
//   - anything else (another SNI, no SNI, a malformed hello): not ours — the bytes pass through
//     to the application as opaque TCP, untouched.
//
// (The namespace is `mtls`, not `tls`: inside trellis::proxy a `tls` namespace would hide
// trellis::tls from every file that includes this one.)

#include <chrono>
#include <memory>
#include <string>

#include "base/result.h"
#include "http/h1conn/transport.h"
#include "net/asio.h"
#include "proxy/detect/read.h"
#include "proxy/mesh_tls.h"
#include "proxy/transport.h"
#include "tls/error.h"
#include "tls/handshake.h"

namespace trellis::proxy::mtls {

struct Hello {
  bool terminate = false;  // the SNI is our identity
  std::string sni;
  std::string bytes;       // everything read from the connection so far (replayed either way)
  bool closed = false;     // the peer closed or the read failed before a complete hello
};

// `bytes`: what detection already read (it starts a TLS handshake record).
net::awaitable<Hello> read_client_hello(net::tcp::socket& socket, std::string bytes,
                                        const tls::Identity& local,
                                        std::chrono::milliseconds timeout);

struct Terminated {
  std::unique_ptr<StreamConnectionTransport<tls::TlsStream>> transport;
  std::string client_identity;  // verified from the client certificate
  std::string alpn;             // negotiated ALPN ("" when none)
};

// Runs the server handshake over `socket`, replaying `hello_bytes` first.
net::awaitable<base::Result<Terminated, tls::Error>> terminate(const MeshTls& mesh,
                                                               net::tcp::socket socket,
                                                               std::string hello_bytes,
                                                               std::chrono::milliseconds timeout);

// detect::read_and_detect over any transport (the decrypted stream).
net::awaitable<detect::Detected> read_and_detect(http::h1::Transport& transport,
                                                 std::chrono::milliseconds timeout);

}  // namespace trellis::proxy::mtls
