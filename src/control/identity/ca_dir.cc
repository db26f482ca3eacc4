#include "control/identity/ca_dir.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <openssl/err.h>

#include "tls/pem.h"

namespace trellis::control::identity {
namespace {

base::Result<std::string, std::string> read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::unexpected(path + ": cannot read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string describe(const tls::Error& e) { return std::string(tls::to_string(e.code)) + ": " + e.detail; }

}  // namespace

base::Result<std::shared_ptr<const CaMaterial>, std::string> load_ca_dir(const std::string& dir) {
  const std::string ca_path = dir + "/ca.crt";
  const std::string crt_path = dir + "/issuer.crt";
  const std::string key_path = dir + "/issuer.key";
  auto ca_pem = read(ca_path);
  if (!ca_pem) return base::unexpected(ca_pem.error());
  auto crt_pem = read(crt_path);
  if (!crt_pem) return base::unexpected(crt_pem.error());
  auto key_pem = read(key_path);
  if (!key_pem) return base::unexpected(key_pem.error());

  auto anchors = tls::TrustAnchors::from_pem(*ca_pem);
  if (!anchors) return base::unexpected(ca_path + ": " + describe(anchors.error()));
  auto certs = tls::certificates_from_pem(*crt_pem);
  if (!certs) return base::unexpected(crt_path + ": " + describe(certs.error()));
  auto key = tls::private_key_from_pem(*key_pem);
  if (!key) return base::unexpected(key_path + ": " + describe(key.error()));

  tls::Issuer issuer;
  issuer.ca.cert = std::move(certs->front());
  issuer.ca.key = std::move(*key);
  for (size_t i = 1; i < certs->size(); ++i) issuer.chain.push_back(std::move((*certs)[i]));
  if (auto ok = issuer.check(); !ok) {
    return base::unexpected(crt_path + ": " + describe(ok.error()));
  }

  // The issuer must chain to an anchor, or proxies would reject every certificate it signs.
  auto store = anchors->make_store();
  if (!store) return base::unexpected(ca_path + ": " + describe(store.error()));
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (const auto& c : issuer.chain) sk_X509_push(untrusted, c.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  bool verified = false;
  std::string why;
  if (ctx != nullptr && X509_STORE_CTX_init(ctx, store->get(), issuer.ca.cert.get(), untrusted) == 1) {
    verified = X509_verify_cert(ctx) == 1;
    if (!verified) why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  }
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  ERR_clear_error();
  if (!verified) {
    return base::unexpected(crt_path + ": the issuer does not chain to an anchor in " + ca_path +
                            (why.empty() ? std::string() : " (" + why + ")"));
  }
  auto material = std::make_shared<CaMaterial>(
      CaMaterial{std::move(*anchors), std::move(issuer), std::move(*ca_pem)});
  return std::shared_ptr<const CaMaterial>(std::move(material));
}

CaDirWatch::CaDirWatch(std::string dir) : dir_(std::move(dir)), loaded_(stat_all()) {}

std::vector<CaDirWatch::FileState> CaDirWatch::stat_all() const {
  std::vector<FileState> out;
  for (const char* name : {"/ca.crt", "/issuer.crt", "/issuer.key"}) {
    const std::string path = dir_ + name;
    FileState st;
    struct stat sb {};
    std::error_code ec;
    if (::stat(path.c_str(), &sb) == 0) {  // follows symlinks: the target's identity counts
      st.exists = true;
      st.size = static_cast<uintmax_t>(sb.st_size);
      st.inode = static_cast<uint64_t>(sb.st_ino);
      st.mtime = std::filesystem::last_write_time(path, ec);
    }
    out.push_back(st);
  }
  return out;
}

CaDirWatch::Reloaded CaDirWatch::poll() {
  const auto now = stat_all();
  if (now == loaded_) return {};
  auto material = load_ca_dir(dir_);
  if (!material) {
    if (material.error() == last_error_) return {};
    last_error_ = material.error();
    return {nullptr, material.error()};
  }
  // A file rewritten between stat_all() and the load is seen again at the next poll (its
  // state differs from `now`), which then reloads once more: harmless.
  loaded_ = now;
  last_error_.clear();
  return {std::move(material).value(), {}};
}

}  // namespace trellis::control::identity
