#include "proxy/discovery/control_source.h"

#include <random>
#include <set>

#include "api/destination.pb.h"
#include "base/log.h"
#include "proxy/discovery/policy.h"

namespace trellis::proxy::discovery {

namespace pb = api::destination::v1;

// One Destination stream the source follows: Get for a target, GetProfile for a service port.
struct ControlSource::Subscription {
  Subscription(std::string n, net::asio::any_io_executor ex) : name(std::move(n)), cancel(ex) {
    cancel.expires_at(net::asio::steady_timer::time_point::max());
  }
  std::string name;  // the path asked for: a target, or a service port's authority
  bool active = true;
  net::asio::steady_timer cancel;  // cancelled to end the stream
};

struct ControlSource::Target : Subscription {
  using Subscription::Subscription;
  bool known = false;    // a first Update arrived
  bool exists = false;
  std::optional<Service> service;  // with exactly one port: the one asked about
  uint64_t sequence = 0;           // which of two targets for one service port is newer
  std::chrono::steady_clock::time_point last_requested = std::chrono::steady_clock::now();
};

struct ControlSource::ProfileTarget : Subscription {
  using Subscription::Subscription;
  std::shared_ptr<const route::RouteTable> table;  // null: the default route
};

class ControlSource::Resolver final : public LazyResolver {
 public:
  Resolver(ControlSource* source, std::string ns) : source_(source), ns_(std::move(ns)) {}
  void request(const std::string& target) override {
    std::lock_guard lock(mu_);
    if (source_) source_->request(target);
  }
  SnapshotPtr latest() const override {
    std::lock_guard lock(mu_);
    return source_ ? source_->current() : std::make_shared<const Snapshot>();
  }
  const std::string& context_namespace() const override { return ns_; }
  void detach() {
    std::lock_guard lock(mu_);
    source_ = nullptr;
  }

 private:
  mutable std::mutex mu_;
  ControlSource* source_;
  const std::string ns_;
};

base::Result<std::optional<Service>, std::string> service_from_update(const pb::Update& update) {
  if (!update.exists()) return std::optional<Service>();
  const auto& info = update.service();
  Service svc;
  svc.name = info.name();
  svc.ns = info.namespace_();
  if (svc.name.empty() || svc.ns.empty()) {
    return base::unexpected(std::string("service: name and namespace are required"));
  }
  if (!info.cluster_domain().empty()) svc.cluster_domain = info.cluster_domain();
  for (int i = 0; i < info.cluster_ips_size(); ++i) {
    auto ip = base::IpAddress::parse(info.cluster_ips(i));
    if (!ip) {
      return base::unexpected("service.cluster_ips[" + std::to_string(i) + "]: " + ip.error());
    }
    svc.cluster_ips.push_back(*ip);
  }
  for (const auto& [k, v] : info.labels()) svc.labels[k] = v;
  if (info.port() == 0 || info.port() > 65535) {
    return base::unexpected(std::string("service.port: must be 1-65535"));
  }
  ServicePort port;
  port.port = static_cast<uint16_t>(info.port());
  port.name = info.port_name();
  port.opaque = info.opaque();
  for (int i = 0; i < update.endpoints_size(); ++i) {
    const auto& e = update.endpoints(i);
    const std::string where = "endpoints[" + std::to_string(i) + "]";
    auto address = net::SocketAddress::parse(e.address());
    if (!address) return base::unexpected(where + ".address: " + address.error());
    Endpoint ep;
    ep.address = *address;
    ep.weight = e.weight() == 0 ? 1 : e.weight();
    ep.identity = e.identity();
    switch (e.protocol_hint()) {
      case pb::PROTOCOL_HINT_H2: ep.protocol_hint = ProtocolHint::kHttp2; break;
      case pb::PROTOCOL_HINT_OPAQUE: ep.protocol_hint = ProtocolHint::kOpaque; break;
      default: ep.protocol_hint = ProtocolHint::kUnknown; break;
    }
    if (e.opaque_transport_port() > 65535) {
      return base::unexpected(where + ".opaque_transport_port: must be at most 65535");
    }
    ep.opaque_transport_port = static_cast<uint16_t>(e.opaque_transport_port());
    for (const auto& [k, v] : e.labels()) ep.labels[k] = v;
    port.endpoints.push_back(std::move(ep));
  }
  svc.ports[port.port] = std::move(port);
  return std::optional<Service>(std::move(svc));
}

ControlSource::ControlSource(net::asio::any_io_executor executor, control::GrpcChannel& channel,
                             ControlSourceOptions options)
    : executor_(std::move(executor)),
      channel_(channel),
      options_(std::move(options)),
      resolver_(std::make_shared<Resolver>(this, options_.context_namespace)) {
  current_.store(std::make_shared<const Snapshot>(std::vector<Service>{}, 0,
                                                  std::set<std::string>{}, resolver_));
}

ControlSource::~ControlSource() {
  resolver_->detach();
  stopped_ = true;
}

void ControlSource::watch(std::function<void(SnapshotPtr)> on_change) {
  watchers_.push_back(std::move(on_change));
}

void ControlSource::request(const std::string& target) {
  net::asio::post(executor_, [this, target] {
    if (stopped_) return;
    auto it = targets_.find(target);
    if (it != targets_.end()) {
      it->second->last_requested = std::chrono::steady_clock::now();
      return;
    }
    subscribe(target);
  });
}

void ControlSource::subscribe(const std::string& target) {
  auto t = std::make_shared<Target>(target, executor_);
  targets_[target] = t;
  TRELLIS_LOG_DEBUG("discovery: subscribing to {}", target);
  net::asio::co_spawn(executor_,
                      follow_stream(t, kDestinationGetPath,
                                    [this, t](const std::string& m) { return apply_update(*t, m); }),
                      net::asio::detached);
}

void ControlSource::start() {
  net::asio::co_spawn(executor_, sweep_loop(), net::asio::detached);
}

void ControlSource::stop() {
  stopped_ = true;
  for (auto& [_, t] : targets_) {
    t->active = false;
    t->cancel.cancel();
  }
  for (auto& [_, p] : profiles_) {
    p->active = false;
    p->cancel.cancel();
  }
  if (sweep_timer_) sweep_timer_->cancel();
}

net::awaitable<void> ControlSource::follow_stream(
    std::shared_ptr<Subscription> subscription, std::string_view method,
    std::function<bool(const std::string&)> apply) {
  using namespace net::asio::experimental::awaitable_operators;
  Subscription& sub = *subscription;
  control::Backoff backoff(options_.retry_base, options_.retry_max,
                           std::hash<std::string>{}(sub.name) ^ std::random_device{}());
  pb::GetDestination get;
  get.set_path(sub.name);
  get.set_context_namespace(options_.context_namespace);
  std::string request;
  get.SerializeToString(&request);

  while (sub.active) {
    auto stream = co_await channel_.server_streaming(std::string(method), request, {});
    if (!sub.active) break;
    if (stream) {
      while (sub.active) {
        auto next = co_await ((*stream)->next() || sub.cancel.async_wait(net::use_nothrow));
        if (next.index() == 1 || !sub.active) break;
        auto& message = std::get<0>(next);
        if (!message) {
          TRELLIS_LOG_WARN("discovery: {} stream for {} ended: {}; keeping the last state",
                           method, sub.name, control::to_string(message.error()));
          break;
        }
        if (!*message) {
          TRELLIS_LOG_WARN("discovery: {} stream for {} ended by the control plane", method,
                           sub.name);
          break;
        }
        if (apply(**message)) backoff.reset();
      }
    } else {
      TRELLIS_LOG_DEBUG("discovery: {} {}: {}", method, sub.name,
                        control::to_string(stream.error()));
    }
    if (!sub.active) break;
    // Disconnected: the last state stays; resubscribe after a backoff.
    net::asio::steady_timer wait(executor_);
    wait.expires_after(backoff.next());
    co_await (wait.async_wait(net::use_nothrow) || sub.cancel.async_wait(net::use_nothrow));
  }
}

bool ControlSource::apply_update(Target& target, const std::string& message) {
  pb::Update update;
  if (!update.ParseFromString(message)) {
    TRELLIS_LOG_WARN("discovery: {}: undecodable Update ignored", target.name);
    return false;
  }
  auto service = service_from_update(update);
  if (!service) {
    TRELLIS_LOG_WARN("discovery: {}: invalid Update ignored: {}", target.name, service.error());
    return false;
  }
  target.known = true;
  target.exists = update.exists();
  target.service = std::move(*service);
  target.sequence = ++sequence_;
  ++updates_;
  if (target.service) {
    for (const auto& [number, _] : target.service->ports) {
      subscribe_profile(target.service->fqdn() + ":" + std::to_string(number));
    }
  }
  publish();
  return true;
}

bool ControlSource::apply_profile(ProfileTarget& target, const std::string& message) {
  pb::Profile profile;
  if (!profile.ParseFromString(message)) {
    TRELLIS_LOG_WARN("discovery: {}: undecodable Profile ignored", target.name);
    return false;
  }
  const auto& policy = profile.policy();
  std::shared_ptr<const route::RouteTable> table;
  // An empty policy (not a Service, or nothing configured): the default route.
  if (policy.http_routes_size() > 0 || policy.has_default_route() ||
      policy.tcp().backends_size() > 0) {
    auto compiled = compile_policy(policy, target.name);
    if (!compiled) {
      TRELLIS_LOG_WARN("discovery: {}: policy rejected, keeping the previous one: {}",
                       target.name, compiled.error());
      return false;
    }
    table = std::move(*compiled);
  }
  target.table = std::move(table);
  ++updates_;
  publish();
  return true;
}

void ControlSource::subscribe_profile(const std::string& authority) {
  if (stopped_ || profiles_.count(authority)) return;
  auto p = std::make_shared<ProfileTarget>(authority, executor_);
  profiles_[authority] = p;
  TRELLIS_LOG_DEBUG("discovery: following the profile of {}", authority);
  net::asio::co_spawn(executor_,
                      follow_stream(p, kDestinationGetProfilePath,
                                    [this, p](const std::string& m) { return apply_profile(*p, m); }),
                      net::asio::detached);
}

void ControlSource::publish() {
  // Group target answers by service; a service port answered by two targets (its ClusterIP and
  // its name) takes the newer answer.
  std::map<std::string, Service> services;
  std::map<std::pair<std::string, uint16_t>, uint64_t> port_sequence;
  std::set<std::string> absent;
  for (const auto& [name, t] : targets_) {
    if (!t->known) continue;
    if (!t->exists || !t->service) {
      absent.insert(name);
      continue;
    }
    const Service& s = *t->service;
    const std::string fqdn = s.fqdn();
    auto [it, inserted] = services.try_emplace(fqdn);
    Service& merged = it->second;
    if (inserted) {
      merged.name = s.name;
      merged.ns = s.ns;
      merged.cluster_domain = s.cluster_domain;
      merged.labels = s.labels;
    }
    for (const auto& ip : s.cluster_ips) {
      if (std::find(merged.cluster_ips.begin(), merged.cluster_ips.end(), ip) ==
          merged.cluster_ips.end()) {
        merged.cluster_ips.push_back(ip);
      }
    }
    for (const auto& [number, port] : s.ports) {
      auto& seq = port_sequence[{fqdn, number}];
      if (t->sequence >= seq) {
        seq = t->sequence;
        merged.ports[number] = port;
        merged.labels = s.labels;
      }
    }
  }
  for (auto& [fqdn, svc] : services) {
    for (auto& [number, port] : svc.ports) {
      auto p = profiles_.find(fqdn + ":" + std::to_string(number));
      if (p == profiles_.end() || !p->second->table) continue;
      port.routes = p->second->table;
      port.policy_source = PolicySource::kControl;
    }
  }
  std::vector<Service> list;
  list.reserve(services.size());
  for (auto& [_, s] : services) list.push_back(std::move(s));
  auto snapshot = std::make_shared<const Snapshot>(std::move(list), ++version_, std::move(absent),
                                                   resolver_);
  current_.store(snapshot);
  for (const auto& w : watchers_) w(snapshot);
}

void ControlSource::sweep(std::chrono::steady_clock::time_point now) {
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> absent;
  bool changed = false;
  for (auto it = targets_.begin(); it != targets_.end();) {
    auto& t = it->second;
    const bool is_service = t->known && t->exists;
    if (!is_service && now - t->last_requested >= options_.unused_timeout) {
      TRELLIS_LOG_DEBUG("discovery: unsubscribing unused {}", it->first);
      t->active = false;
      t->cancel.cancel();
      changed = changed || t->known;
      it = targets_.erase(it);
      continue;
    }
    if (!is_service) absent.emplace_back(t->last_requested, it->first);
    ++it;
  }
  if (absent.size() > options_.max_absent) {
    std::sort(absent.begin(), absent.end());
    for (size_t i = 0; i < absent.size() - options_.max_absent; ++i) {
      auto it = targets_.find(absent[i].second);
      it->second->active = false;
      it->second->cancel.cancel();
      targets_.erase(it);
      changed = true;
    }
  }
  if (changed) publish();
}

net::awaitable<void> ControlSource::sweep_loop() {
  sweep_timer_ = std::make_unique<net::asio::steady_timer>(executor_);
  while (!stopped_) {
    sweep_timer_->expires_after(options_.sweep_interval);
    auto [ec] = co_await sweep_timer_->async_wait(net::use_nothrow);
    if (ec || stopped_) co_return;
    sweep(std::chrono::steady_clock::now());
  }
}

}  // namespace trellis::proxy::discovery
