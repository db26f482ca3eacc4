// trellis up / down / apply / delete / get / logs / exec: the local runtime's commands
// (DESIGN.md §6). The runtime daemon (src/runtime) owns the cluster; these commands start it,
// talk to it over its unix socket, and print what kubectl users expect.

#include "cli/runtime_commands.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "cli/command.h"
#include "cli/install_ca.h"
#include "resources/load.h"
#include "runtime/control_plane.h"
#include "runtime/daemon.h"
#include "runtime/objects.h"
#include "runtime/process.h"
#include "runtime/system.h"

namespace trellis::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Common {
  std::string state_dir = kDefaultStateDir;
};

void add_state_dir(CLI::App* cmd, Common& c) {
  cmd->add_option("--state-dir", c.state_dir, "The runtime's state directory")
      ->envname("TRELLIS_STATE_DIR")
      ->capture_default_str();
}

std::string absolute(const std::string& path) {
  std::error_code ec;
  auto p = fs::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

// Reads -f arguments into documents; prints problems and returns false on I/O errors.
bool read_documents(const std::vector<std::string>& paths, const std::string& command,
                    std::vector<runtime::ManifestDocument>& docs) {
  for (const auto& path : paths) {
    auto files = resources::collect_manifest_files(path);
    if (!files) {
      std::cerr << "trellis " << command << ": " << files.error() << "\n";
      return false;
    }
    for (const auto& file : *files) {
      std::string text;
      if (file == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), {});
      } else {
        auto content = runtime::read_file(file);
        if (!content) {
          std::cerr << "trellis " << command << ": cannot read " << file << "\n";
          return false;
        }
        text = std::move(*content);
      }
      docs.push_back({file, std::move(text)});
    }
  }
  return true;
}

json documents_json(const std::vector<runtime::ManifestDocument>& docs) {
  json out = json::array();
  for (const auto& d : docs) out.push_back({{"file", d.file}, {"text", d.text}});
  return out;
}

// Sends a request; prints the error and returns nullopt when it failed.
std::optional<json> call(const std::string& command, const std::string& state_dir,
                         const json& req) {
  auto answer = runtime::request(state_dir, req);
  if (!answer) {
    std::cerr << "trellis " << command << ": " << answer.error() << "\n";
    return std::nullopt;
  }
  if (!answer->value("ok", false)) {
    std::string error = answer->value("error", "request failed");
    while (!error.empty() && error.back() == '\n') error.pop_back();
    std::cerr << (error.find('\n') == std::string::npos ? "trellis " + command + ": " : "")
              << error << "\n";
    return std::nullopt;
  }
  return *answer;
}

bool require_root(const std::string& command) {
  if (::geteuid() == 0) return true;
  std::cerr << "trellis " << command
            << ": the local runtime must run as root (it creates network namespaces, veth links "
               "and iptables rules); run it with sudo\n";
  return false;
}

void print_changes(const json& answer) {
  for (const auto& w : answer.value("warnings", json::array())) {
    std::cerr << w.get<std::string>() << "\n";
  }
  for (const auto& c : answer.value("changes", json::array())) std::cout << c.get<std::string>() << "\n";
}

// ---------------------------------------------------------------- up / down

struct UpOptions {
  Common common;
  std::vector<std::string> paths;
  std::string timeout = "2m";
  std::string name = "local";
  std::string bin_dir;
  std::string log_level = "info";
};

int run_up(const UpOptions& o) {
  if (!require_root("up")) return 1;
  auto timeout = base::parse_go_duration(o.timeout);
  if (!timeout) {
    std::cerr << "trellis up: --timeout: " << timeout.error() << "\n";
    return 2;
  }
  std::vector<runtime::ManifestDocument> docs;
  if (!read_documents(o.paths, "up", docs)) return 1;
  // Validated here too, so that a broken manifest starts nothing.
  std::vector<std::string> warnings;
  auto decoded = runtime::decode_manifests(docs, warnings);
  if (!decoded) {
    std::cerr << decoded.error();
    return 1;
  }
  const std::string state_dir = absolute(o.common.state_dir);
  const runtime::StatePaths paths{state_dir};
  if (!runtime::request(state_dir, {{"op", "ping"}})) {
    // The mesh CA, made once per state directory by the code behind `trellis install-ca` (an
    // existing one, possibly the user's own anchor and issuer, is kept).
    std::error_code ec;
    fs::create_directories(state_dir, ec);
    if (!fs::exists(fs::path(paths.ca()) / kCaAnchorFile)) {
      InstallCaOptions ca;
      ca.dir = paths.ca();
      std::ostringstream out, err;
      if (run_install_ca(ca, out, err) != 0) {
        std::cerr << "trellis up: creating the mesh CA in " << paths.ca() << " failed:\n"
                  << err.str();
        return 1;
      }
      std::cout << "mesh CA created in " << paths.ca() << "\n";
    }
    runtime::RuntimeOptions ro;
    ro.state_dir = state_dir;
    ro.cluster = o.name;
    ro.bin_dir = o.bin_dir.empty() ? runtime::self_directory() : absolute(o.bin_dir);
    ro.log_level = o.log_level;
    auto started = runtime::start_daemon(ro);
    if (!started) {
      std::cerr << "trellis up: " << started.error() << "\n";
      return 1;
    }
    std::cout << "cluster " << o.name << " started (state " << state_dir << ")\n";
    std::cout << "control plane: trellis-control, grpc " << runtime::control_grpc_address()
              << ", admin http://" << runtime::control_admin_address() << ", log "
              << paths.control_log() << "\n";
  } else {
    std::cout << "cluster already running (state " << state_dir << "): applying\n";
  }
  auto applied = call("up", state_dir, {{"op", "apply"}, {"documents", documents_json(docs)}});
  if (!applied) return 1;
  print_changes(*applied);
  const auto deadline = std::chrono::steady_clock::now() + *timeout;
  json last;
  for (;;) {
    auto status = call("up", state_dir, {{"op", "status"}});
    if (!status) return 1;
    if (status->value("ready", false)) {
      std::cout << "all pods are ready\n";
      return 0;
    }
    last = *status;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  std::cerr << "trellis up: not ready after " << o.timeout << ":\n";
  for (const auto& n : last.value("notReady", json::array())) {
    std::cerr << "  " << n.get<std::string>() << "\n";
  }
  std::cerr << "(the cluster keeps running; `trellis get pods -A`, `trellis logs POD`, "
               "`trellis down`)\n";
  return 1;
}

int run_down(const Common& c) {
  if (!require_root("down")) return 1;
  const std::string state_dir = absolute(c.state_dir);
  if (!fs::exists(runtime::StatePaths{state_dir}.ledger())) {
    std::cout << "no cluster in " << state_dir << "\n";
    return 0;
  }
  const auto problems = runtime::stop_cluster(state_dir);
  for (const auto& p : problems) std::cerr << "trellis down: " << p << "\n";
  if (!problems.empty()) return 1;
  std::cout << "cluster removed\n";
  return 0;
}

// ---------------------------------------------------------------- apply / delete

struct ManifestOptions {
  Common common;
  std::vector<std::string> paths;
};

int run_manifests(const ManifestOptions& o, const std::string& command) {
  std::vector<runtime::ManifestDocument> docs;
  if (!read_documents(o.paths, command, docs)) return 1;
  auto answer = call(command, absolute(o.common.state_dir),
                     {{"op", command}, {"documents", documents_json(docs)}});
  if (!answer) return 1;
  print_changes(*answer);
  return 0;
}

// ---------------------------------------------------------------- get

struct GetOptions {
  Common common;
  std::string what;
  std::string name;
  std::string ns;
  bool all_namespaces = false;
  std::string output;
};

std::string age_of(const json& obj) {
  const std::string ts = obj["metadata"].value("creationTimestamp", "");
  std::tm tm{};
  if (ts.empty() || !::strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return "<unknown>";
  return runtime::format_age(static_cast<int64_t>(std::time(nullptr) - ::timegm(&tm)));
}

std::string canonical_kind(const std::string& what) {
  if (what == "pods" || what == "pod" || what == "po") return "pods";
  if (what == "deployments" || what == "deployment" || what == "deploy") return "deployments";
  if (what == "services" || what == "service" || what == "svc") return "services";
  if (what == "namespaces" || what == "namespace" || what == "ns") return "namespaces";
  if (what == "all") return "all";
  return "";
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& r : rows) {
    widths.resize(std::max(widths.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(widths[i] - r[i].size() + 3, ' ');
    }
    std::cout << line << "\n";
  }
}

std::vector<std::string> pod_row(const json& p, bool wide) {
  int ready = 0, total = 0, restarts = 0;
  std::string waiting;
  for (const auto& c : p["status"].value("containerStatuses", json::array())) {
    ++total;
    ready += c.value("ready", false) ? 1 : 0;
    restarts += c.value("restartCount", 0);
    if (c["state"].contains("waiting")) waiting = c["state"]["waiting"].value("reason", "");
  }
  std::string status = p["status"].value("phase", "Pending");
  if (!waiting.empty()) status = waiting;
  if (p["metadata"].contains("deletionTimestamp")) status = "Terminating";
  std::vector<std::string> row = {p["metadata"].value("name", ""),
                                  fmt::format("{}/{}", ready, total), status,
                                  std::to_string(restarts), age_of(p)};
  if (wide) {
    row.push_back(p["status"].value("podIP", "<none>"));
    row.push_back(p["spec"].value("nodeName", "<none>"));
  }
  return row;
}

std::vector<std::string> service_row(const json& s) {
  std::string ports;
  for (const auto& p : s["spec"].value("ports", json::array())) {
    if (!ports.empty()) ports += ",";
    ports += fmt::format("{}/{}", p.value("port", 0), p.value("protocol", "TCP"));
  }
  return {s["metadata"].value("name", ""), s["spec"].value("type", "ClusterIP"),
          s["spec"].value("clusterIP", "None"), "<none>", ports.empty() ? "<none>" : ports,
          age_of(s)};
}

std::vector<std::string> deployment_row(const json& d) {
  const json& st = d["status"];
  const int replicas = d["spec"].value("replicas", 1);
  return {d["metadata"].value("name", ""),
          fmt::format("{}/{}", st.value("readyReplicas", 0), replicas),
          std::to_string(st.value("updatedReplicas", 0)),
          std::to_string(st.value("availableReplicas", 0)), age_of(d)};
}

int run_get(const GetOptions& o) {
  const std::string kind = canonical_kind(o.what);
  if (kind.empty()) {
    std::cerr << "trellis get: unknown resource type \"" << o.what
              << "\" (use pods, deployments, services, namespaces or all)\n";
    return 2;
  }
  if (!o.output.empty() && o.output != "wide" && o.output != "json" && o.output != "yaml") {
    std::cerr << "trellis get: unsupported output format \"" << o.output
              << "\" (use wide, json or yaml)\n";
    return 2;
  }
  auto answer = call("get", absolute(o.common.state_dir),
                     {{"op", "get"},
                      {"what", kind},
                      {"namespace", o.ns},
                      {"allNamespaces", o.all_namespaces}});
  if (!answer) return 1;
  json items = json::array();
  for (const auto& item : (*answer)["items"]) {
    if (o.name.empty() || item["metadata"].value("name", "") == o.name) items.push_back(item);
  }
  if (!o.name.empty() && items.empty()) {
    std::cerr << "Error from server (NotFound): " << kind << " \"" << o.name << "\" not found\n";
    return 1;
  }
  if (o.output == "json" || o.output == "yaml") {
    json out = (!o.name.empty() && items.size() == 1)
                   ? items[0]
                   : json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items},
                          {"metadata", {{"resourceVersion", ""}}}};
    std::cout << (o.output == "json" ? out.dump(4) + "\n" : runtime::json_to_yaml(out));
    return 0;
  }
  if (items.empty()) {
    std::cerr << (o.all_namespaces
                      ? std::string("No resources found\n")
                      : "No resources found in " + (o.ns.empty() ? std::string("default") : o.ns) +
                            " namespace.\n");
    return 0;
  }
  const bool wide = o.output == "wide";
  auto section = [&](const std::string& item_kind, std::vector<std::string> header,
                     auto row_of, const std::string& prefix) {
    std::vector<std::vector<std::string>> rows;
    if (o.all_namespaces) header.insert(header.begin(), "NAMESPACE");
    rows.push_back(header);
    for (const auto& item : items) {
      if (item.value("kind", "") != item_kind) continue;
      auto row = row_of(item);
      row[0] = prefix + row[0];
      if (o.all_namespaces) row.insert(row.begin(), item["metadata"].value("namespace", ""));
      rows.push_back(std::move(row));
    }
    if (rows.size() == 1) return false;
    print_table(rows);
    return true;
  };
  const bool all = kind == "all";
  bool printed = false;
  auto gap = [&] {
    if (printed) std::cout << "\n";
  };
  if (kind == "pods" || all) {
    std::vector<std::string> h = {"NAME", "READY", "STATUS", "RESTARTS", "AGE"};
    if (wide) {
      h.push_back("IP");
      h.push_back("NODE");
    }
    printed |= section("Pod", h, [&](const json& p) { return pod_row(p, wide); },
                       all ? "pod/" : "");
  }
  if (kind == "services" || all) {
    gap();
    printed |= section("Service", {"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"},
                       service_row, all ? "service/" : "");
  }
  if (kind == "deployments" || all) {
    gap();
    printed |= section("Deployment", {"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"},
                       deployment_row, all ? "deployment.apps/" : "");
  }
  if (kind == "namespaces") {
    std::vector<std::vector<std::string>> rows = {{"NAME", "STATUS", "AGE"}};
    for (const auto& n : items) {
      rows.push_back({n["metadata"].value("name", ""), "Active", age_of(n)});
    }
    print_table(rows);
  }
  return 0;
}

// ---------------------------------------------------------------- logs / exec

struct PodOptions {
  Common common;
  std::string ns = "default";
  std::string pod;
  std::string container;
  bool follow = false;
  std::vector<std::string> command;
};

// kubectl's `deploy/NAME` (also deployment/, deployments/): one of the Deployment's pods, a
// ready one if there is one. A plain name (or pod/NAME) is returned as is.
std::optional<std::string> resolve_pod(const std::string& state_dir, const PodOptions& o,
                                       const std::string& command) {
  std::string name = o.pod;
  const size_t slash = name.find('/');
  if (slash == std::string::npos) return name;
  const std::string kind = name.substr(0, slash);
  name = name.substr(slash + 1);
  if (kind == "pod" || kind == "pods" || kind == "po") return name;
  if (kind != "deploy" && kind != "deployment" && kind != "deployments") {
    std::cerr << "trellis " << command << ": " << o.pod
              << ": only pods and deployments (deploy/NAME) can be named\n";
    return std::nullopt;
  }
  auto answer = call(command, state_dir,
                     {{"op", "get"}, {"what", "pods"}, {"namespace", o.ns},
                      {"allNamespaces", false}});
  if (!answer) return std::nullopt;
  std::string found;
  for (const auto& p : (*answer)["items"]) {
    const json& md = p["metadata"];
    const auto labels = md.value("labels", json::object());
    const std::string owner = name + "-" + labels.value("pod-template-hash", "");
    if (!md.contains("ownerReferences") || md["ownerReferences"].empty() ||
        md["ownerReferences"][0].value("name", "") != owner || md.contains("deletionTimestamp")) {
      continue;
    }
    bool ready = false;
    for (const auto& c : p["status"].value("conditions", json::array())) {
      ready |= c.value("type", "") == "Ready" && c.value("status", "") == "True";
    }
    if (found.empty() || ready) found = md.value("name", "");
    if (ready) break;
  }
  if (found.empty()) {
    std::cerr << "trellis " << command << ": deployment \"" << name
              << "\" has no pods in namespace \"" << o.ns << "\"\n";
    return std::nullopt;
  }
  return found;
}

// The container's log file, or an error printed and "" returned.
std::string pick_container(const json& info, const PodOptions& o, const std::string& command) {
  std::vector<std::string> names;
  std::string first_app;
  for (const auto& c : info["containers"]) {
    names.push_back(c.value("name", ""));
    if (first_app.empty() && !c.value("proxy", false)) first_app = c.value("name", "");
    if (!o.container.empty() && c.value("name", "") == o.container) return c.value("log", "");
  }
  if (o.container.empty()) {
    for (const auto& c : info["containers"]) {
      if (c.value("name", "") == first_app) return c.value("log", "");
    }
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : " ") + n;
  std::cerr << "trellis " << command << ": container " << o.container << " is not valid for pod "
            << o.pod << "; choose one of: [" << list << "]\n";
  return "";
}

int run_logs(PodOptions o) {
  const std::string state_dir = absolute(o.common.state_dir);
  auto pod = resolve_pod(state_dir, o, "logs");
  if (!pod) return 1;
  o.pod = *pod;
  auto info = call("logs", state_dir, {{"op", "pod"}, {"namespace", o.ns}, {"name", o.pod}});
  if (!info) return 1;
  const std::string log = pick_container(*info, o, "logs");
  if (log.empty()) return 1;
  std::ifstream in(log, std::ios::binary);
  std::streamoff offset = 0;
  auto drain = [&] {
    std::ifstream f(log, std::ios::binary);
    if (!f) return;
    f.seekg(0, std::ios::end);
    const std::streamoff size = f.tellg();
    if (size < offset) offset = 0;  // truncated
    f.seekg(offset);
    std::string chunk(static_cast<size_t>(size - offset), '\0');
    f.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    std::cout << chunk << std::flush;
    offset = size;
  };
  drain();
  if (!o.follow) return 0;
  // Until the pod goes away (or ^C).
  for (int i = 0;; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    drain();
    if (i % 8 != 7) continue;
    auto still = runtime::request(state_dir, {{"op", "pod"}, {"namespace", o.ns}, {"name", o.pod}});
    if (!still || !still->value("ok", false)) return 0;
  }
}

int run_exec(PodOptions o) {
  if (!require_root("exec")) return 1;
  if (o.command.empty()) {
    std::cerr << "trellis exec: no command; usage: trellis exec [-n NS] POD -- CMD [ARGS...]\n";
    return 2;
  }
  auto pod = resolve_pod(absolute(o.common.state_dir), o, "exec");
  if (!pod) return 1;
  o.pod = *pod;
  auto info = call("exec", absolute(o.common.state_dir),
                   {{"op", "pod"}, {"namespace", o.ns}, {"name", o.pod}});
  if (!info) return 1;
  if (!o.container.empty() && pick_container(*info, o, "exec").empty()) return 1;
  const std::string netns = info->value("netns", "");
  if (netns.empty() || info->value("ip", "").empty()) {
    std::cerr << "trellis exec: pod " << o.pod << " has no network yet\n";
    return 1;
  }
  auto entered = runtime::enter_pod(netns, info->value("hostsFile", ""),
                                    info->value("hostname", ""));
  if (!entered) {
    std::cerr << "trellis exec: " << entered.error() << "\n";
    return 1;
  }
  std::vector<char*> argv;
  for (const auto& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  std::cerr << "trellis exec: " << o.command[0] << ": " << std::strerror(errno) << "\n";
  return errno == ENOENT ? 127 : 126;
}

}  // namespace

Command add_up_command(CLI::App& app) {
  auto o = std::make_shared<UpOptions>();
  auto* cmd = app.add_subcommand("up", "Start the local runtime (as root) and apply manifests");
  cmd->add_option("-f,--filename", o->paths, "Manifest file or directory (repeatable)")
      ->required();
  cmd->add_option("--timeout", o->timeout, "How long to wait for every pod to be ready")
      ->capture_default_str();
  cmd->add_option("--name", o->name, "Cluster name (network namespace trellis-<name>)")
      ->capture_default_str();
  cmd->add_option("--bin-dir", o->bin_dir,
                  "Where container commands are looked up first (default: trellis's directory)");
  cmd->add_option("--log-level", o->log_level, "Runtime daemon log level")->capture_default_str();
  add_state_dir(cmd, o->common);
  return {cmd, [o] { return run_up(*o); }};
}

Command add_down_command(CLI::App& app) {
  auto o = std::make_shared<Common>();
  auto* cmd = app.add_subcommand("down", "Stop the local runtime and remove everything it made");
  add_state_dir(cmd, *o);
  return {cmd, [o] { return run_down(*o); }};
}

Command add_apply_command(CLI::App& app) {
  auto o = std::make_shared<ManifestOptions>();
  auto* cmd = app.add_subcommand("apply", "Create or update objects in the local runtime");
  cmd->add_option("-f,--filename", o->paths, "Manifest file, directory or - (repeatable)")
      ->required();
  add_state_dir(cmd, o->common);
  return {cmd, [o] { return run_manifests(*o, "apply"); }};
}

Command add_delete_command(CLI::App& app) {
  auto o = std::make_shared<ManifestOptions>();
  auto* cmd = app.add_subcommand("delete", "Delete the objects of manifests from the local runtime");
  cmd->add_option("-f,--filename", o->paths, "Manifest file, directory or - (repeatable)")
      ->required();
  add_state_dir(cmd, o->common);
  return {cmd, [o] { return run_manifests(*o, "delete"); }};
}

Command add_get_command(CLI::App& app) {
  auto o = std::make_shared<GetOptions>();
  auto* cmd = app.add_subcommand("get", "List pods, deployments, services or namespaces");
  cmd->add_option("type", o->what, "pods|deploy|svc|ns|all")->required();
  cmd->add_option("name", o->name, "Only this object");
  cmd->add_option("-n,--namespace", o->ns, "Namespace (default: default)");
  cmd->add_flag("-A,--all-namespaces", o->all_namespaces, "Every namespace");
  cmd->add_option("-o,--output", o->output, "wide, json or yaml");
  add_state_dir(cmd, o->common);
  return {cmd, [o] { return run_get(*o); }};
}

Command add_logs_command(CLI::App& app) {
  auto o = std::make_shared<PodOptions>();
  auto* cmd = app.add_subcommand("logs", "Print a container's log");
  cmd->add_option("pod", o->pod, "Pod name, or deploy/NAME")->required();
  cmd->add_option("-n,--namespace", o->ns, "Namespace")->capture_default_str();
  cmd->add_option("-c,--container", o->container,
                  "Container (default: the first app container; the proxy is trellis-proxy)");
  cmd->add_flag("-f,--follow", o->follow, "Keep printing new output");
  add_state_dir(cmd, o->common);
  return {cmd, [o] { return run_logs(*o); }};
}

Command add_exec_command(CLI::App& app) {
  auto o = std::make_shared<PodOptions>();
  auto* cmd = app.add_subcommand("exec", "Run a command inside a pod's network namespace");
  cmd->add_option("pod", o->pod, "Pod name, or deploy/NAME")->required();
  cmd->add_option("-n,--namespace", o->ns, "Namespace")->capture_default_str();
  cmd->add_option("-c,--container", o->container, "Container (informational: pods share a network)");
  cmd->add_option("command", o->command, "-- CMD [ARGS...]");
  add_state_dir(cmd, o->common);
  return {cmd, [o] { return run_exec(*o); }};
}

}  // namespace trellis::cli
