#include "proxy/discovery/static_file.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iterator>
#include <set>

#include <nlohmann/json.hpp>

#include "proxy/discovery/policy.h"

namespace trellis::proxy::discovery {
namespace {

struct ParseError {
  std::string message;
};

// YAML (a superset of JSON) to JSON for the protobuf JSON parser: plain scalars that read as
// booleans, null or numbers keep that type, quoted ones stay strings.
nlohmann::json to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (auto it = n.begin(); it != n.end(); ++it) {
        out[it->first.as<std::string>("")] = to_json(it->second);
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : n) out.push_back(to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& v = n.Scalar();
      if (n.Tag() != "!") {
        if (v == "true") return true;
        if (v == "false") return false;
        if (v == "null" || v == "~") return nullptr;
        auto number = nlohmann::json::parse(v, nullptr, false);
        if (number.is_number()) return number;
      }
      return v;
    }
    default:
      return nullptr;
  }
}

class Reader {
 public:
  Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Node& n, const std::string& path, const std::string& msg) const {
    std::string where = file_;
    if (n.Mark().line >= 0) {
      where += ":" + std::to_string(n.Mark().line + 1) + ":" + std::to_string(n.Mark().column + 1);
    }
    throw ParseError{where + ": " + path + ": " + msg};
  }

  void check_keys(const YAML::Node& map, const std::string& path, std::set<std::string> allowed) const {
    if (!map.IsMap()) fail(map, path, "expected a map");
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.as<std::string>("");
      if (!allowed.count(key)) fail(it->first, path + "." + key, "unknown field \"" + key + "\"");
    }
  }

  std::string string(const YAML::Node& map, const char* key, const std::string& path,
                     bool required) const {
    const YAML::Node v = map[key];
    if (!v) {
      if (required) fail(map, path + "." + key, "missing required field");
      return {};
    }
    if (!v.IsScalar()) fail(v, path + "." + key, "expected a string");
    return v.Scalar();
  }

  uint64_t number(const YAML::Node& map, const char* key, const std::string& path, uint64_t min,
                  uint64_t max, uint64_t fallback) const {
    const YAML::Node v = map[key];
    if (!v) return fallback;
    uint64_t out = 0;
    if (!v.IsScalar() || v.Scalar().empty() || v.Scalar().size() > 19) {
      fail(v, path + "." + key, "expected an integer");
    }
    for (char c : v.Scalar()) {
      if (c < '0' || c > '9') fail(v, path + "." + key, "expected an integer");
      out = out * 10 + static_cast<uint64_t>(c - '0');
    }
    if (out < min || out > max) {
      fail(v, path + "." + key,
           "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    return out;
  }

  Snapshot parse(const YAML::Node& root) const {
    std::vector<Service> services;
    if (!root || root.IsNull()) return Snapshot{};
    check_keys(root, "", {"services"});
    const YAML::Node list = root["services"];
    if (!list) return Snapshot{};
    if (!list.IsSequence()) fail(list, "services", "expected a list");
    size_t i = 0;
    for (const auto& s : list) {
      const std::string path = "services[" + std::to_string(i++) + "]";
      check_keys(s, path, {"name", "namespace", "clusterDomain", "clusterIPs", "ports", "labels"});
      Service svc;
      svc.name = string(s, "name", path, true);
      svc.ns = string(s, "namespace", path, false);
      if (svc.ns.empty()) svc.ns = "default";
      if (auto d = string(s, "clusterDomain", path, false); !d.empty()) svc.cluster_domain = d;
      if (const YAML::Node ips = s["clusterIPs"]) {
        if (!ips.IsSequence()) fail(ips, path + ".clusterIPs", "expected a list");
        for (const auto& ip : ips) {
          auto parsed = base::IpAddress::parse(ip.IsScalar() ? ip.Scalar() : "");
          if (!parsed) fail(ip, path + ".clusterIPs", parsed.error());
          svc.cluster_ips.push_back(*parsed);
        }
      }
      if (const YAML::Node labels = s["labels"]) {
        if (!labels.IsMap()) fail(labels, path + ".labels", "expected a map");
        for (auto it = labels.begin(); it != labels.end(); ++it) {
          svc.labels[it->first.as<std::string>("")] = it->second.as<std::string>("");
        }
      }
      const YAML::Node ports = s["ports"];
      if (ports && !ports.IsSequence()) fail(ports, path + ".ports", "expected a list");
      size_t j = 0;
      for (const auto& p : ports) {
        const std::string ppath = path + ".ports[" + std::to_string(j++) + "]";
        check_keys(p, ppath, {"port", "name", "opaque", "endpoints", "policy"});
        ServicePort sp;
        sp.port = static_cast<uint16_t>(number(p, "port", ppath, 1, 65535, 0));
        if (sp.port == 0) fail(p, ppath + ".port", "missing required field");
        sp.name = string(p, "name", ppath, false);
        if (const YAML::Node o = p["opaque"]) {
          if (!o.IsScalar() || (o.Scalar() != "true" && o.Scalar() != "false")) {
            fail(o, ppath + ".opaque", "expected true or false");
          }
          sp.opaque = o.Scalar() == "true";
        }
        const YAML::Node eps = p["endpoints"];
        if (eps && !eps.IsSequence()) fail(eps, ppath + ".endpoints", "expected a list");
        size_t k = 0;
        for (const auto& e : eps) {
          const std::string epath = ppath + ".endpoints[" + std::to_string(k++) + "]";
          check_keys(e, epath, {"address", "weight", "identity", "protocolHint", "labels"});
          Endpoint ep;
          auto addr = net::SocketAddress::parse(string(e, "address", epath, true));
          if (!addr) fail(e["address"], epath + ".address", addr.error());
          ep.address = *addr;
          ep.weight = static_cast<uint32_t>(number(e, "weight", epath, 0, 1000000, 1));
          ep.identity = string(e, "identity", epath, false);
          const std::string hint = string(e, "protocolHint", epath, false);
          if (hint.empty() || hint == "unknown") ep.protocol_hint = ProtocolHint::kUnknown;
          else if (hint == "h2") ep.protocol_hint = ProtocolHint::kHttp2;
          else if (hint == "opaque") ep.protocol_hint = ProtocolHint::kOpaque;
          else fail(e["protocolHint"], epath + ".protocolHint", "expected unknown, h2 or opaque");
          if (const YAML::Node labels = e["labels"]) {
            if (!labels.IsMap()) fail(labels, epath + ".labels", "expected a map");
            for (auto it = labels.begin(); it != labels.end(); ++it) {
              ep.labels[it->first.as<std::string>("")] = it->second.as<std::string>("");
            }
          }
          sp.endpoints.push_back(std::move(ep));
        }
        if (const YAML::Node policy = p["policy"]) {
          // A TrafficPolicy as protobuf JSON: a map, or a string holding the JSON text.
          const std::string json = policy.IsScalar() ? policy.Scalar() : to_json(policy).dump();
          auto table = compile_policy_json(json, svc.fqdn() + ":" + std::to_string(sp.port));
          if (!table) fail(policy, ppath + ".policy", table.error());
          sp.routes = std::move(*table);
          sp.policy_source = PolicySource::kStatic;
        }
        if (svc.ports.count(sp.port)) fail(p, ppath + ".port", "duplicate port");
        svc.ports[sp.port] = std::move(sp);
      }
      services.push_back(std::move(svc));
    }
    return Snapshot(std::move(services));
  }

 private:
  std::string file_;
};

}  // namespace

base::Result<Snapshot, std::string> parse_discovery_file(std::string_view text,
                                                         const std::string& file_name) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return Reader(file_name).parse(root);
  } catch (const ParseError& e) {
    return base::unexpected(e.message);
  } catch (const YAML::Exception& e) {
    return base::unexpected(file_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                            std::to_string(e.mark.column + 1) + ": syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return base::unexpected(file_name + ": " + e.what());
  }
}

StaticFileSource::StaticFileSource(std::string path)
    : path_(std::move(path)), current_(std::make_shared<const Snapshot>()) {}

bool StaticFileSource::changed_on_disk() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return false;
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(path_, ec);
  if (ec) return false;
  const bool changed = mtime != mtime_ || static_cast<uintmax_t>(st.st_size) != size_ ||
                       static_cast<uint64_t>(st.st_ino) != inode_;
  mtime_ = mtime;
  size_ = static_cast<uintmax_t>(st.st_size);
  inode_ = static_cast<uint64_t>(st.st_ino);
  return changed;
}

base::Result<base::Ok, std::string> StaticFileSource::reload() {
  changed_on_disk();  // record the version we are about to read
  std::ifstream in(path_, std::ios::binary);
  auto fail = [&](std::string msg) -> base::Result<base::Ok, std::string> {
    errors_.fetch_add(1);
    std::lock_guard lock(error_mu_);
    last_error_ = msg;
    return base::unexpected(std::move(msg));
  };
  if (!in) return fail(path_ + ": cannot open discovery file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto parsed = parse_discovery_file(text, path_);
  if (!parsed) return fail(parsed.error());
  const uint64_t version = reloads_.fetch_add(1) + 1;
  auto snapshot = std::make_shared<const Snapshot>(Snapshot(parsed->services(), version));
  current_.store(snapshot);
  {
    std::lock_guard lock(error_mu_);
    last_error_.clear();
  }
  for (auto& w : watchers_) w(snapshot);
  return base::Ok{};
}

void StaticFileSource::watch(std::function<void(SnapshotPtr)> on_change) {
  watchers_.push_back(std::move(on_change));
}

std::string StaticFileSource::last_error() const {
  std::lock_guard lock(error_mu_);
  return last_error_;
}

void StaticFileSource::start_polling(net::asio::io_context& io, std::chrono::milliseconds interval) {
  net::asio::co_spawn(io, poll_loop(interval), net::asio::detached);
}

net::awaitable<void> StaticFileSource::poll_loop(std::chrono::milliseconds interval) {
  net::asio::steady_timer timer(co_await net::asio::this_coro::executor);
  while (true) {
    timer.expires_after(interval);
    auto [ec] = co_await timer.async_wait(net::use_nothrow);
    if (ec) co_return;
    if (changed_on_disk()) (void)reload();
  }
}

}  // namespace trellis::proxy::discovery
