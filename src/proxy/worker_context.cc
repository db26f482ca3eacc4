#include "proxy/worker_context.h"

namespace trellis::proxy {

http::h1::Pool& WorkerContext::pool(const net::SocketAddress& address,
                                    std::chrono::milliseconds connect_timeout) {
  auto it = pools_.find(address);
  if (it == pools_.end()) {
    http::h1::PoolOptions options;
    options.connect_timeout = connect_timeout;
    options.idle_timeout = config_.http1_pool_idle_timeout;
    options.max_idle = config_.http1_pool_max_idle_per_endpoint;
    it = pools_.emplace(address, std::make_unique<http::h1::Pool>(executor_, address, options)).first;
  }
  return *it->second;
}

balance::P2cBalancer& WorkerContext::balancer(const discovery::SnapshotPtr& snapshot,
                                              const discovery::Destination& destination) {
  BalancerEntry& entry = balancers_[destination.authority];
  if (entry.snapshot_version == UINT64_MAX || snapshot->version() > entry.snapshot_version) {
    entry.balancer.update(destination.port->endpoints, balance::Clock::now());
    entry.snapshot_version = snapshot->version();
    entry.port = destination.port;
  }
  return entry.balancer;
}

balance::P2cBalancer* WorkerContext::find_balancer(const std::string& authority) {
  auto it = balancers_.find(authority);
  return it == balancers_.end() ? nullptr : &it->second.balancer;
}

}  // namespace trellis::proxy
