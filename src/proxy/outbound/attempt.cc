#include "proxy/outbound/attempt.h"

#include "proxy/outbound/backend.h"

namespace trellis::proxy::outbound {
namespace {

struct Shared {
  explicit Shared(net::asio::any_io_executor executor) : done(std::move(executor)) {
    done.expires_at(net::asio::steady_timer::time_point::max());
  }
  std::optional<Attempt> out;
  net::asio::steady_timer done;  // cancelled when `out` is set
};

net::awaitable<Attempt> attempt_inline(WorkerContext& worker, discovery::SnapshotPtr snapshot,
                                       discovery::Destination apex, std::string backend_authority,
                                       http::Request request) {
  Attempt a;
  auto picked = co_await pick_backend(worker, snapshot, apex, std::move(backend_authority));
  if (!picked) {
    a.result = base::unexpected(picked.error());
  } else {
    a.endpoint_labels = picked->labels;
    if (endpoint::is_meshed(worker, *picked)) a.identity = picked->identity;
    endpoint::DispatchOptions options{worker.config().outbound_connect_timeout,
                                      worker.config().outbound_failfast_timeout};
    a.result = co_await endpoint::send_to_endpoint(worker, *picked, std::move(request), options);
  }
  co_return a;
}

net::awaitable<void> attempt_body(WorkerContext& worker, discovery::SnapshotPtr snapshot,
                                  discovery::Destination apex, std::string backend_authority,
                                  http::Request request, std::shared_ptr<Shared> shared) {
  shared->out = co_await attempt_inline(worker, std::move(snapshot), std::move(apex),
                                        std::move(backend_authority), std::move(request));
  shared->done.cancel();
}

}  // namespace

net::awaitable<Attempt> run_attempt(WorkerContext& worker, discovery::SnapshotPtr snapshot,
                                    discovery::Destination apex, std::string backend_authority,
                                    http::Request request,
                                    std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (!deadline) {
    // Nothing to race: no coroutine of its own, no timer (the common, untimed route).
    co_return co_await attempt_inline(worker, std::move(snapshot), std::move(apex),
                                      std::move(backend_authority), std::move(request));
  }
  auto shared = std::make_shared<Shared>(worker.executor());
  net::asio::co_spawn(worker.executor(),
                      attempt_body(worker, std::move(snapshot), std::move(apex),
                                   std::move(backend_authority), std::move(request), shared),
                      net::asio::detached);
  // One thread: nothing can complete between this check and the wait below.
  if (!shared->out) {
    shared->done.expires_at(*deadline);
    co_await shared->done.async_wait(net::use_nothrow);
  }
  if (shared->out) co_return std::move(*shared->out);
  Attempt timed_out;
  timed_out.timed_out = true;
  co_return timed_out;
}

}  // namespace trellis::proxy::outbound
