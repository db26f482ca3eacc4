#include "control/store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "control/store/directory_source.h"

namespace trellis::control::store {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kService[] = R"(apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: emojivoto
spec:
  clusterIP: 198.19.0.10
  selector:
    app: web
  ports:
    - name: http
      port: 80
      targetPort: 8080
)";

std::string service_with_port(int port) {
  std::string s = kService;
  s.replace(s.find("port: 80"), 8, "port: " + std::to_string(port));
  return s;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/trellis-store-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  void write(const std::string& rel, const std::string& content) const {
    fs::create_directories((fs::path(path_) / rel).parent_path());
    std::ofstream(fs::path(path_) / rel) << content;
  }

 private:
  std::string path_;
};

// Waits (up to a generous bound; the assertion is about what arrives, not when) until `pred`
// holds for the store's snapshot.
template <typename Pred>
bool eventually(Store& store, Pred pred) {
  std::mutex mu;
  std::condition_variable cv;
  auto watch = store.watch([&](const Change&) { cv.notify_all(); });
  std::unique_lock lock(mu);
  return cv.wait_for(lock, std::chrono::seconds(10), [&] { return pred(*store.snapshot()); });
}

const resources::Service* web(const Snapshot& s) {
  const Object* o = s.service("emojivoto", "web");
  return o ? o->resource.as<resources::Service>() : nullptr;
}

TEST(DirectorySourceTest, LoadsRecursivelyAndIndexes) {
  TempDir dir;
  dir.write("svc.yaml", kService);
  dir.write("sub/pod.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: emojivoto
  labels: {app: web}
spec:
  containers:
    - name: app
      image: demo
status:
  phase: Running
  podIP: 198.18.0.7
  conditions:
    - type: Ready
      status: "True"
)");
  dir.write(".hidden/x.yaml", "not: [valid");
  dir.write("notes.txt", "ignored");
  Store store(std::make_unique<DirectorySource>(dir.path()));
  store.start();
  auto s = store.snapshot();
  EXPECT_TRUE(s->loaded);
  EXPECT_EQ(s->objects.size(), 2u);
  ASSERT_NE(web(*s), nullptr);
  EXPECT_EQ(s->service_by_cluster_ip.count("198.19.0.10"), 1u);
  ASSERT_EQ(s->pod_by_ip.count("198.18.0.7"), 1u);
  const Object& pod = *s->pod_by_ip.at("198.18.0.7");
  EXPECT_EQ(pod.origin, "sub/pod.yaml");
  EXPECT_EQ(pod.extras.status.phase, "Running");
  EXPECT_EQ(pod.extras.status.ready, std::optional<bool>(true));
  EXPECT_TRUE(s->diagnostics.empty());
  store.stop();
}

TEST(DirectorySourceTest, ReloadsOnChangeAndKeepsLastGoodVersionOfInvalidObject) {
  TempDir dir;
  dir.write("svc.yaml", kService);
  Store store(std::make_unique<DirectorySource>(dir.path()));
  store.start();
  ASSERT_EQ(web(*store.snapshot())->ports[0].port, 80);

  dir.write("svc.yaml", service_with_port(81));
  ASSERT_TRUE(eventually(store, [](const Snapshot& s) { return web(s) && web(s)->ports[0].port == 81; }));

  // An invalid edit: reported, and port 81 stays in force.
  dir.write("svc.yaml", service_with_port(70000));
  ASSERT_TRUE(eventually(store, [](const Snapshot& s) { return s.error_count() > 0; }));
  auto s = store.snapshot();
  ASSERT_NE(web(*s), nullptr);
  EXPECT_EQ(web(*s)->ports[0].port, 81);
  EXPECT_EQ(s->diagnostics.front().location.file, "svc.yaml");
  EXPECT_GT(s->diagnostics.front().location.line, 0);

  // A syntax error: the object stays too.
  dir.write("svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: [broken\n");
  ASSERT_TRUE(eventually(store, [&](const Snapshot& now) { return now.version > s->version; }));
  EXPECT_NE(web(*store.snapshot()), nullptr);

  // Fixed: the error goes away.
  dir.write("svc.yaml", service_with_port(82));
  ASSERT_TRUE(eventually(store, [](const Snapshot& s) {
    return s.error_count() == 0 && web(s) && web(s)->ports[0].port == 82;
  }));
  store.stop();
}

TEST(DirectorySourceTest, DeletedFileDeletesItsObjects) {
  TempDir dir;
  dir.write("svc.yaml", kService);
  Store store(std::make_unique<DirectorySource>(dir.path()));
  store.start();
  ASSERT_NE(web(*store.snapshot()), nullptr);
  std::set<ObjectKey> changed;
  std::mutex mu;
  auto watch = store.watch([&](const Change& c) {
    std::lock_guard lock(mu);
    changed.insert(c.changed.begin(), c.changed.end());
  });
  fs::remove(fs::path(dir.path()) / "svc.yaml");
  ASSERT_TRUE(eventually(store, [](const Snapshot& s) { return web(s) == nullptr; }));
  std::lock_guard lock(mu);
  EXPECT_THAT(changed, Contains(ObjectKey{"", "Service", "emojivoto", "web"}));
  watch.reset();
  store.stop();
}

TEST(DirectorySourceTest, EditorStyleRenameAndNewSubdirectory) {
  TempDir dir;
  dir.write("svc.yaml", kService);
  Store store(std::make_unique<DirectorySource>(dir.path()));
  store.start();
  // Atomic save: write a hidden temp file, rename it over the original.
  dir.write(".svc.yaml.tmp", service_with_port(90));
  fs::rename(fs::path(dir.path()) / ".svc.yaml.tmp", fs::path(dir.path()) / "svc.yaml");
  ASSERT_TRUE(eventually(store, [](const Snapshot& s) { return web(s) && web(s)->ports[0].port == 90; }));

  // A new directory, then a file in it.
  fs::create_directories(fs::path(dir.path()) / "a" / "b");
  dir.write("a/b/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n");
  ASSERT_TRUE(eventually(store, [](const Snapshot& s) { return s.namespace_object("other"); }));

  // A directory moved in from elsewhere.
  TempDir outside;
  outside.write("c/ns2.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: third\n");
  fs::rename(fs::path(outside.path()) / "c", fs::path(dir.path()) / "c");
  ASSERT_TRUE(eventually(store, [](const Snapshot& s) { return s.namespace_object("third"); }));
  store.stop();
}

TEST(StoreTest, DuplicateDefinitionWarnsAndLaterOriginWins) {
  Store store;
  store.start();
  store.apply({load_origin("a.yaml", service_with_port(80)),
               load_origin("b.yaml", service_with_port(81))},
              false);
  auto s = store.snapshot();
  EXPECT_EQ(web(*s)->ports[0].port, 81);
  ASSERT_EQ(s->diagnostics.size(), 1u);
  EXPECT_THAT(s->diagnostics[0].message, HasSubstr("also defined in a.yaml"));
}

TEST(StoreTest, WatchersSeeChangedKeys) {
  Store store;
  store.start();
  std::vector<Change> seen;
  auto watch = store.watch([&](const Change& c) { seen.push_back(c); });
  store.apply({load_origin("a.yaml", kService)}, false);
  OriginUpdate removed;
  removed.origin = "a.yaml";
  removed.removed = true;
  store.apply({removed}, false);
  ASSERT_EQ(seen.size(), 2u);
  const ObjectKey key{"", "Service", "emojivoto", "web"};
  EXPECT_TRUE(seen[0].changed.contains(key));
  EXPECT_NE(web(*seen[0].snapshot), nullptr);
  EXPECT_TRUE(seen[1].changed.contains(key));
  EXPECT_EQ(web(*seen[1].snapshot), nullptr);
  watch.reset();
  store.apply({load_origin("a.yaml", kService)}, false);
  EXPECT_EQ(seen.size(), 2u);  // unsubscribed
}

}  // namespace
}  // namespace trellis::control::store
