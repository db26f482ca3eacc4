#include "proxy/identity/mesh_credentials.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "base/log.h"
#include "tls/ca.h"
#include "tls/pem.h"
#include "tls/x509.h"

namespace trellis::proxy::identity {
namespace {

std::string describe(const tls::Error& e) {
  return e.detail.empty() ? std::string(tls::to_string(e.code))
                          : std::string(tls::to_string(e.code)) + ": " + e.detail;
}

base::Result<std::string, std::string> read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::unexpected(std::string(what) + " " + path + ": cannot be read");
  std::ostringstream out;
  out << in.rdbuf();
  if (out.str().size() > tls::kMaxPemBytes) {
    return base::unexpected(std::string(what) + " " + path + ": too large");
  }
  return out.str();
}

}  // namespace

base::Result<tls::TrustAnchors, std::string> load_trust_anchors(const std::string& path) {
  auto pem = read_file(path, "trust anchors file");
  if (!pem) return base::unexpected(pem.error());
  auto anchors = tls::TrustAnchors::from_pem(*pem);
  if (!anchors) {
    return base::unexpected("trust anchors file " + path + ": " + describe(anchors.error()));
  }
  return std::move(anchors).value();
}

base::Result<tls::Credentials, std::string> load_credentials(const std::string& cert_file,
                                                             const std::string& key_file) {
  auto chain = read_file(cert_file, "identity certificate file");
  if (!chain) return base::unexpected(chain.error());
  auto key = read_file(key_file, "identity key file");
  if (!key) return base::unexpected(key.error());
  // Decode separately first so the error names the file at fault.
  if (auto certs = tls::certificates_from_pem(*chain); !certs) {
    return base::unexpected("identity certificate file " + cert_file + ": " +
                            describe(certs.error()));
  }
  if (auto k = tls::private_key_from_pem(*key); !k) {
    return base::unexpected("identity key file " + key_file + ": " + describe(k.error()));
  }
  auto credentials = tls::Credentials::from_pem(*chain, *key);
  if (!credentials) {
    return base::unexpected("identity certificate file " + cert_file + " with key file " +
                            key_file + ": " + describe(credentials.error()));
  }
  return std::move(credentials).value();
}

base::Result<tls::Credentials, std::string> placeholder_credentials(const tls::Identity& identity) {
  auto fail = [](const char* what, const tls::Error& e) {
    return base::unexpected(std::string("placeholder certificate: ") + what + ": " + describe(e));
  };
  const auto now = std::chrono::system_clock::now() - std::chrono::minutes(1);
  auto anchor = tls::create_trust_anchor({"placeholder.invalid", std::chrono::hours(24 * 365), now});
  if (!anchor) return fail("anchor", anchor.error());
  auto issuer_name = tls::issuer_identity();
  tls::Issuer issuer;
  {
    auto ca = tls::create_issuer(*anchor, {issuer_name->str(), std::chrono::hours(24 * 365), now});
    if (!ca) return fail("issuer", ca.error());
    issuer.ca = std::move(ca).value();
  }
  auto key = tls::generate_p256_key();
  if (!key) return fail("key", key.error());
  auto csr = tls::create_csr(identity, key->get());
  if (!csr) return fail("csr", csr.error());
  auto leaf = tls::sign_leaf(issuer, csr->get(), identity,
                             {std::chrono::hours(24 * 365), std::chrono::seconds(60), now});
  if (!leaf) return fail("leaf", leaf.error());
  std::vector<tls::X509Ptr> chain;
  chain.push_back(tls::share(issuer.ca.cert.get()));
  auto credentials =
      tls::Credentials::create(std::move(leaf).value(), std::move(key).value(), std::move(chain));
  if (!credentials) return fail("credentials", credentials.error());
  return std::move(credentials).value();
}

base::Result<base::Ok, std::string> validate_identity_config(const ProxyConfig& c) {
  if (c.identity_cert_file.empty() != c.identity_key_file.empty()) {
    return base::unexpected(std::string(
        "identity-cert-file and identity-key-file must be set together"));
  }
  const bool static_files = !c.identity_cert_file.empty();
  const bool service = !c.control_addr.empty() && !c.identity_name.empty();
  if (!static_files && !c.identity_name.empty() && c.control_addr.empty()) {
    return base::unexpected(std::string(
        "identity-name is set but there is neither identity-cert-file nor control-addr to "
        "obtain its certificate from"));
  }
  if ((static_files || service) && c.trust_anchors_file.empty()) {
    return base::unexpected(std::string("an identity needs trust-anchors-file"));
  }
  if (service && !static_files && c.identity_token_file.empty()) {
    return base::unexpected(std::string(
        "identity-name with control-addr needs identity-token-file to certify"));
  }
  if (!c.identity_name.empty()) {
    if (auto id = tls::Identity::parse(c.identity_name); !id) {
      return base::unexpected("identity-name \"" + c.identity_name + "\": " + describe(id.error()));
    }
  }
  if (!c.control_addr.empty()) {
    if (auto id = tls::Identity::parse(c.control_identity); !id) {
      return base::unexpected("control-identity \"" + c.control_identity +
                              "\": " + describe(id.error()));
    }
  }
  return base::Ok{};
}

base::Result<base::Ok, std::string> install(const MeshTls& mesh,
                                            const tls::Credentials& credentials,
                                            const tls::TrustAnchors& anchors) {
  if (auto r = mesh.server->update(credentials, anchors); !r) {
    return base::unexpected("server context: " + describe(r.error()));
  }
  if (auto r = mesh.client->update(&credentials, anchors); !r) {
    return base::unexpected("client context: " + describe(r.error()));
  }
  return base::Ok{};
}

base::Result<std::unique_ptr<MeshTls>, std::string> make_mesh_tls(const ProxyConfig& config) {
  if (auto v = validate_identity_config(config); !v) return base::unexpected(v.error());
  if (!config.has_identity()) return std::unique_ptr<MeshTls>();
  auto anchors = load_trust_anchors(config.trust_anchors_file);
  if (!anchors) return base::unexpected(anchors.error());

  std::optional<tls::Credentials> credentials;
  std::optional<tls::Identity> identity;
  if (!config.identity_name.empty()) identity = *tls::Identity::parse(config.identity_name);
  if (!config.identity_cert_file.empty()) {
    auto loaded = load_credentials(config.identity_cert_file, config.identity_key_file);
    if (!loaded) return base::unexpected(loaded.error());
    if (identity && loaded->identity() != *identity) {
      return base::unexpected("identity certificate file " + config.identity_cert_file +
                              " is for " + loaded->identity().str() + ", not identity-name " +
                              identity->str());
    }
    identity = loaded->identity();
    credentials.emplace(std::move(loaded).value());
  } else {
    auto placeholder = placeholder_credentials(*identity);
    if (!placeholder) return base::unexpected(placeholder.error());
    credentials.emplace(std::move(placeholder).value());
  }

  tls::ServerOptions server_options;
  server_options.require_client_certificate = true;
  auto server = tls::ServerContext::create(server_options, *credentials, *anchors);
  if (!server) return base::unexpected("mesh server context: " + describe(server.error()));
  // Without a certificate from the identity service yet, the client side presents none.
  const tls::Credentials* client_credentials =
      config.identity_cert_file.empty() ? nullptr : &*credentials;
  auto client = tls::ClientContext::create({}, client_credentials, *anchors);
  if (!client) return base::unexpected("mesh client context: " + describe(client.error()));
  return std::make_unique<MeshTls>(*identity, std::move(server).value(), std::move(client).value());
}

FileWatch::FileWatch(std::vector<std::string> paths) : paths_(std::move(paths)) {
  for (const auto& p : paths_) states_.push_back(stat(p));
}

FileWatch::State FileWatch::stat(const std::string& path) {
  State s;
  struct ::stat st {};
  if (::stat(path.c_str(), &st) != 0) return s;
  s.exists = true;
  s.size = static_cast<uintmax_t>(st.st_size);
  s.inode = st.st_ino;
  s.mtime = std::filesystem::file_time_type(std::chrono::seconds(st.st_mtim.tv_sec) +
                                            std::chrono::nanoseconds(st.st_mtim.tv_nsec));
  return s;
}

bool FileWatch::changed() {
  bool any = false;
  for (size_t i = 0; i < paths_.size(); ++i) {
    State now = stat(paths_[i]);
    if (!(now == states_[i])) {
      states_[i] = now;
      any = true;
    }
  }
  return any;
}

FileCredentials::FileCredentials(const ProxyConfig& config, const MeshTls& mesh,
                                 IdentityState* state)
    : cert_file_(config.identity_cert_file),
      key_file_(config.identity_key_file),
      anchors_file_(config.trust_anchors_file),
      mesh_(mesh),
      state_(state),
      watch_({config.identity_cert_file, config.identity_key_file, config.trust_anchors_file}) {}

base::Result<bool, std::string> FileCredentials::poll() {
  if (!watch_.changed()) return false;
  auto anchors = load_trust_anchors(anchors_file_);
  if (!anchors) return base::unexpected(anchors.error());
  auto credentials = load_credentials(cert_file_, key_file_);
  if (!credentials) return base::unexpected(credentials.error());
  if (credentials->identity() != mesh_.identity) {
    return base::unexpected("identity certificate file " + cert_file_ + " is now for " +
                            credentials->identity().str() + ", not " + mesh_.identity.str());
  }
  if (auto r = install(mesh_, *credentials, *anchors); !r) return base::unexpected(r.error());
  if (state_) state_->publish(*credentials);
  return true;
}

void FileCredentials::start(net::asio::any_io_executor executor,
                            std::chrono::milliseconds interval) {
  net::asio::co_spawn(
      executor,
      [this, interval]() -> net::awaitable<void> {
        net::asio::steady_timer timer(co_await net::asio::this_coro::executor);
        while (true) {
          timer.expires_after(interval);
          auto [ec] = co_await timer.async_wait(net::use_nothrow);
          if (ec) co_return;
          auto polled = poll();
          if (!polled) {
            TRELLIS_LOG_ERROR("identity files not reloaded (keeping the current certificate): {}",
                              polled.error());
          } else if (*polled) {
            TRELLIS_LOG_INFO("identity certificate reloaded from {}", cert_file_);
          }
        }
      },
      net::asio::detached);
}

}  // namespace trellis::proxy::identity
