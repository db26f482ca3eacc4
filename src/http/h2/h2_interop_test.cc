// The server against real HTTP/2 clients as peers: nghttp, curl, h2load (all nghttp2-based
// tools from Debian) and python3-h2, a different implementation. Each test is skipped when its
// tool is missing.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "http/h2/test_support.h"

namespace trellis::http::h2 {
namespace {

using namespace testing;

struct CommandResult {
  int status = -1;
  std::string output;
};

CommandResult run(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool have(const std::string& tool) {
  return run("command -v " + tool + " >/dev/null 2>&1").status == 0;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "h2-interop-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name, const std::string& content) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::string path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string url(const ServerThread& server, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + path;
}

TEST(H2Interop, NghttpGetAndUpload) {
  if (!have("nghttp")) GTEST_SKIP() << "nghttp not installed";
  ServerThread server;
  CommandResult get = run("timeout 20 nghttp " + url(server, "/hello"));
  EXPECT_EQ(get.status, 0);
  EXPECT_EQ(get.output, "hello world");

  TempDir dir;
  const std::string upload = dir.file("upload", GeneratedBody::expected(3 << 20));
  CommandResult sink = run("timeout 20 nghttp -d " + upload + " " + url(server, "/sink"));
  EXPECT_EQ(sink.status, 0);
  const std::string expected = GeneratedBody::expected(3 << 20);
  EXPECT_EQ(sink.output, std::to_string(expected.size()) + ":" + std::to_string(fnv1a(expected)));
  EXPECT_EQ(server.counters().malformed_headers_total.load(), 0u);
}

TEST(H2Interop, NghttpSeesTrailers) {
  if (!have("nghttp")) GTEST_SKIP() << "nghttp not installed";
  ServerThread server;
  TempDir dir;
  const std::string message = dir.file("msg", std::string("\0\0\0\0\x03" "abc", 8));
  CommandResult r = run("timeout 20 nghttp -v -H 'content-type: application/grpc' "
                        "-H 'te: trailers' -d " + message + " " + url(server, "/grpc/echo"));
  EXPECT_EQ(r.status, 0);
  // nghttp -v prints received header blocks; the trailers come in a second HEADERS frame.
  EXPECT_NE(r.output.find("grpc-status: 0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("grpc-message: ok"), std::string::npos);
}

TEST(H2Interop, CurlPriorKnowledgeEcho) {
  if (!have("curl")) GTEST_SKIP() << "curl not installed";
  ServerThread server;
  TempDir dir;
  const std::string body = GeneratedBody::expected(2 << 20);
  const std::string in = dir.file("in", body);
  const std::string out = dir.path("out");
  CommandResult r = run("timeout 20 curl -sS --http2-prior-knowledge --data-binary @" + in +
                        " -o " + out + " -w '%{http_version} %{response_code}' " +
                        url(server, "/echo"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "2 200");
  EXPECT_EQ(read_file(out), body);
}

TEST(H2Interop, CurlSeesGrpcTrailersOnlyError) {
  if (!have("curl")) GTEST_SKIP() << "curl not installed";
  ServerThread server;
  CommandResult r = run("timeout 20 curl -sS --http2-prior-knowledge -D - -o /dev/null " +
              url(server, "/grpc/fail"));
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("HTTP/2 200"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("grpc-status: 14"), std::string::npos);
  EXPECT_NE(r.output.find("grpc-message: no endpoints: 100%25 down%0A"), std::string::npos);
}

TEST(H2Interop, H2loadManyMultiplexedStreams) {
  if (!have("h2load")) GTEST_SKIP() << "h2load not installed";
  ServerThread server;
  CommandResult r = run("timeout 60 h2load -n 4000 -c 4 -m 100 " + url(server, "/hello"));
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("4000 succeeded, 0 failed, 0 errored"), std::string::npos) << r.output;
  EXPECT_EQ(server.counters().rapid_reset_total.load(), 0u);
  EXPECT_EQ(server.counters().streams_opened_total.load(), 4000u);
}

// python3-h2 is a separate implementation: a request with trailers, read back with trailers.
TEST(H2Interop, PythonH2TrailersBothWays) {
  if (run("/usr/bin/python3 -c 'import h2' 2>/dev/null").status != 0) {
    GTEST_SKIP() << "python3-h2 not installed";
  }
  ServerThread server;
  TempDir dir;
  const std::string script = dir.file("client.py", R"PY(
import socket, sys
import h2.config, h2.connection, h2.events
port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
conn.send_headers(1, [(":method", "POST"), (":scheme", "http"), (":authority", "py"),
                      (":path", "/echo"), ("te", "trailers")])
conn.send_data(1, b"hello from python")
conn.send_headers(1, [("x-trailer", "t1")], end_stream=True)
sock.sendall(conn.data_to_send())
body, trailers, status, done = b"", {}, None, False
while not done:
    data = sock.recv(65536)
    if not data:
        break
    for ev in conn.receive_data(data):
        if isinstance(ev, h2.events.ResponseReceived):
            status = dict(ev.headers)[b":status"].decode()
        elif isinstance(ev, h2.events.DataReceived):
            body += ev.data
            conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.TrailersReceived):
            trailers = {k.decode(): v.decode() for k, v in ev.headers}
        elif isinstance(ev, h2.events.StreamEnded):
            done = True
    sock.sendall(conn.data_to_send())
print(status, body.decode(), trailers.get("x-trailer"))
)PY");
  CommandResult r =
      run("timeout 20 /usr/bin/python3 " + script + " " + std::to_string(server.port()));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "200 hello from python t1\n");
}

}  // namespace
}  // namespace trellis::http::h2
