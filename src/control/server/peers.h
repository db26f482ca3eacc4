#pragma once
// PeerIdentities: which verified client identity each gRPC connection has.
//
// TLS is terminated by TlsFront (TLS 1.3 only — gRPC 1.51's C++ TLS credentials cannot set a
// minimum version), which forwards the decrypted connection to the gRPC server's internal
// loopback listener. gRPC names that peer by the front's source address ("ipv4:127.0.0.1:<port>"),
// so the front records the identity it verified under that name and handlers look it up. A
// connection to the internal listener that did not come through the front has no entry and
// therefore no identity.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace trellis::control::server {

class PeerIdentities {
 public:
  // `identity` is empty when the client sent no certificate.
  void set(const std::string& peer, uint64_t connection, std::string identity);
  // Forgets the entry only if it still belongs to `connection` (the source port may already
  // have been reused by a newer connection).
  void erase(const std::string& peer, uint64_t connection);
  // The verified identity of the connection gRPC calls `peer`; nullopt when unknown or when the
  // client sent no certificate.
  std::optional<std::string> identity(std::string_view peer) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::pair<uint64_t, std::string>, std::less<>> by_peer_;
};

}  // namespace trellis::control::server
