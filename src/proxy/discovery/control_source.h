#pragma once
// A DiscoverySource fed by the control plane's Destination.Get streams (contract C-4/C-7).
//
// Targets are learnt lazily: the data path misses in the snapshot, asks the resolver (the
// snapshot carries it) for "ip:port" (transparent) or "authority:port" (ingress), and waits for
// a snapshot that holds the service or lists the target as absent (exists=false: forward to the
// original destination). One Get stream per target, with the proxy's namespace as context.
//
// Every Update is the complete state of its target: it replaces that target's service port in a
// new immutable Snapshot. When a stream breaks, the last state stays in force and the target is
// resubscribed with backoff (so a control-plane restart resynchronises every target). Targets
// that do not exist and have not been asked for within `unused_timeout` are unsubscribed, and at
// most `max_absent` of them are kept; targets that are services stay subscribed, so the
// snapshot never loses a service the data path is using (the data path does not report hits).
//
// Traffic policy (contract C-9): the first Update naming a service port opens a GetProfile
// stream for its authority ("web.ns.svc.cluster.local:80"); the latest Profile.policy, compiled
// once into a RouteTable, rides on that ServicePort in every later snapshot. Until the first
// Profile arrives, or while the stream is down, the port keeps its last policy (none at first:
// the default route).
//
// Threading: the streams and all state live on the channel's executor; current() and the
// resolver's request() may be called from any thread.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "net/asio.h"
#include "proxy/control/grpc_channel.h"
#include "proxy/discovery/snapshot.h"

namespace trellis::api::destination::v1 {
class Update;
}

namespace trellis::proxy::discovery {

inline constexpr std::string_view kDestinationGetPath = "/trellis.api.destination.v1.Destination/Get";
inline constexpr std::string_view kDestinationGetProfilePath =
    "/trellis.api.destination.v1.Destination/GetProfile";

struct ControlSourceOptions {
  std::string context_namespace = "default";
  std::chrono::milliseconds unused_timeout{std::chrono::minutes(10)};
  size_t max_absent = 10000;
  std::chrono::milliseconds retry_base{200};
  std::chrono::milliseconds retry_max{10000};
  std::chrono::milliseconds sweep_interval{std::chrono::seconds(30)};
};

// Converts one Update into the service it describes (nullopt for exists=false); errors name the
// field ("endpoints[2].address: ...").
base::Result<std::optional<Service>, std::string> service_from_update(
    const api::destination::v1::Update& update);

class ControlSource final : public DiscoverySource {
 public:
  ControlSource(net::asio::any_io_executor executor, control::GrpcChannel& channel,
                ControlSourceOptions options);
  ~ControlSource() override;

  SnapshotPtr current() const override { return current_.load(); }
  void watch(std::function<void(SnapshotPtr)> on_change) override;

  // Starts the unused-target sweep. Call once, before the executor runs or on it.
  void start();
  // Cancels every stream (on the executor).
  void stop();

  // Subscribes `target` if it is not yet (any thread).
  void request(const std::string& target);

  // For tests and /config_dump (executor thread only).
  size_t subscribed() const { return targets_.size(); }
  size_t profiles() const { return profiles_.size(); }
  uint64_t updates() const { return updates_.load(); }

 private:
  struct Subscription;
  struct Target;
  struct ProfileTarget;
  class Resolver;
  void subscribe(const std::string& target);
  void subscribe_profile(const std::string& authority);
  // Follows one Destination stream (`method`) for the subscription until it is cancelled,
  // reopening it after a backoff when it breaks; `apply` takes each message (true: accepted,
  // which resets the backoff). The last state stays in force while the stream is down.
  net::awaitable<void> follow_stream(std::shared_ptr<Subscription> subscription,
                                     std::string_view method,
                                     std::function<bool(const std::string&)> apply);
  bool apply_update(Target& target, const std::string& message);
  bool apply_profile(ProfileTarget& target, const std::string& message);
  net::awaitable<void> sweep_loop();
  void sweep(std::chrono::steady_clock::time_point now);
  void publish();

  net::asio::any_io_executor executor_;
  control::GrpcChannel& channel_;
  ControlSourceOptions options_;
  std::shared_ptr<Resolver> resolver_;
  std::atomic<std::shared_ptr<const Snapshot>> current_;
  std::vector<std::function<void(SnapshotPtr)>> watchers_;
  std::map<std::string, std::shared_ptr<Target>> targets_;
  std::map<std::string, std::shared_ptr<ProfileTarget>> profiles_;  // by service authority
  uint64_t version_ = 0;
  uint64_t sequence_ = 0;
  std::atomic<uint64_t> updates_{0};
  bool stopped_ = false;
  std::unique_ptr<net::asio::steady_timer> sweep_timer_;
};

}  // namespace trellis::proxy::discovery
