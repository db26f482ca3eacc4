#pragma once
// The proxy's mesh identity as the data path sees it: TLS contexts that rotate in place
// (tls::ServerContext / tls::ClientContext swap their SSL_CTX snapshot atomically on update()),
// created once at start-up by the identity component and never replaced afterwards, so workers
// may hold plain pointers. A proxy without an identity (ingress without mTLS, plaintext tests)
// has none: WorkerContext::mesh_tls() is then null and meshed endpoints are reached in plaintext.

#include <memory>

#include "tls/context.h"
#include "tls/identity.h"

namespace trellis::proxy {

struct MeshTls {
  MeshTls(tls::Identity local_identity, std::unique_ptr<tls::ServerContext> server_context,
          std::unique_ptr<tls::ClientContext> client_context)
      : identity(std::move(local_identity)), server(std::move(server_context)),
        client(std::move(client_context)) {}

  tls::Identity identity;                      // this proxy's identity (its certificate's DNS SAN)
  std::unique_ptr<tls::ServerContext> server;  // inbound: terminates TLS whose SNI is `identity`
  std::unique_ptr<tls::ClientContext> client;  // outbound: mTLS to meshed endpoints
};

}  // namespace trellis::proxy
