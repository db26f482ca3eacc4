#include "control/server/peers.h"

namespace trellis::control::server {

void PeerIdentities::set(const std::string& peer, uint64_t connection, std::string identity) {
  std::lock_guard lock(mu_);
  by_peer_[peer] = {connection, std::move(identity)};
}

void PeerIdentities::erase(const std::string& peer, uint64_t connection) {
  std::lock_guard lock(mu_);
  auto it = by_peer_.find(peer);
  if (it != by_peer_.end() && it->second.first == connection) by_peer_.erase(it);
}

std::optional<std::string> PeerIdentities::identity(std::string_view peer) const {
  std::lock_guard lock(mu_);
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end() || it->second.second.empty()) return std::nullopt;
  return it->second.second;
}

}  // namespace trellis::control::server
