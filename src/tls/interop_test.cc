// Interop with a real peer: the `openssl s_client` binary against a mesh ServerContext. It must
// complete TLS 1.3 with a client certificate, and be refused with TLS 1.2 or without a
// certificate. Skipped when no openssl binary is installed.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "tls/pem.h"
#include "tls/test_support.h"

namespace trellis::tls {
namespace {

using testing::EchoServer;
using testing::id;
using testing::Pki;
using testing::take;
using testing::web_identity;
namespace asio = net::asio;
namespace fs = std::filesystem;

const Identity& client_identity() {
  static const Identity kVote = id("vote.emojivoto.serviceaccount.identity.linkerd.cluster.local");
  return kVote;
}

struct Command {
  int status;
  std::string output;
};

// Runs a shell command, returning its exit status and combined output.
Command run(const std::string& command) {
  Command out{-1, ""};
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.output.append(buf, n);
  const int status = ::pclose(pipe);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

class OpensslInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run("command -v openssl").status != 0) GTEST_SKIP() << "no openssl binary";
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("trellis-tls-" + std::to_string(rd()));
    fs::create_directories(dir_);
    write("anchor.pem", take(to_pem(pki_.anchor.cert.get())));
    write("client.pem", take(to_pem(client_.leaf())));
    write("issuer.pem", take(to_pem(pki_.issuer.ca.cert.get())));
    write("client.key", take(private_key_to_pem(client_.key())));
  }
  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  void write(const std::string& name, const std::string& data) {
    std::ofstream(dir_ / name) << data;
  }

  // Serves one s_client run with the mesh server context; returns the server-side handshake
  // result and s_client's output.
  std::pair<std::optional<Result<PeerInfo>>, Command> connect(const std::string& flags) {
    asio::io_context io;
    EchoServer server(io, *server_ctx_);
    const auto port = server.endpoint().port();
    std::thread io_thread([&] { io.run(); });
    const Command result = run(
        "echo ping | timeout 10 openssl s_client -brief -connect 127.0.0.1:" +
        std::to_string(port) + " -servername " + web_identity().str() + " -verify_hostname " +
        web_identity().str() + " -verify_return_error -CAfile " + (dir_ / "anchor.pem").string() +
        " " + flags);
    // The server state belongs to the io thread: finish there, then join.
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      co_await server.wait_for_results(1);
      server.stop();
    }, asio::detached);
    io_thread.join();
    std::optional<Result<PeerInfo>> server_result;
    if (!server.results().empty()) server_result = server.results().front();
    return {server_result, result};
  }

  std::string cert_flags() const {
    // -cert reads one certificate; the issuer goes in -cert_chain.
    return "-cert " + (dir_ / "client.pem").string() + " -key " + (dir_ / "client.key").string() +
           " -cert_chain " + (dir_ / "issuer.pem").string();
  }

  Pki pki_ = Pki::create();
  Credentials server_creds_ = pki_.leaf(web_identity());
  Credentials client_ = pki_.leaf(client_identity());
  std::unique_ptr<ServerContext> server_ctx_ =
      take(ServerContext::create({}, server_creds_, pki_.anchors()));
  fs::path dir_;
};

TEST_F(OpensslInterop, Tls13WithClientCertificateSucceeds) {
  auto [server, client] = connect("-tls1_3 " + cert_flags());
  EXPECT_EQ(client.status, 0) << client.output;
  EXPECT_THAT(client.output, ::testing::HasSubstr("Protocol version: TLSv1.3"));
  EXPECT_THAT(client.output, ::testing::HasSubstr("Verification: OK"));
  ASSERT_TRUE(server.has_value());
  ASSERT_TRUE(server->ok()) << server->error().detail;
  EXPECT_EQ((*server)->identity, client_identity());
}

TEST_F(OpensslInterop, Tls12IsRefused) {
  auto [server, client] = connect("-tls1_2 " + cert_flags());
  EXPECT_NE(client.status, 0) << client.output;
  EXPECT_THAT(client.output, ::testing::HasSubstr("alert protocol version"));
  ASSERT_TRUE(server.has_value());
  ASSERT_FALSE(server->ok());
  EXPECT_EQ(server->error().code, ErrorCode::kUnsupportedProtocol);
}

TEST_F(OpensslInterop, Tls13WithoutCertificateIsRefused) {
  auto [server, client] = connect("-tls1_3");
  ASSERT_TRUE(server.has_value());
  ASSERT_FALSE(server->ok());
  EXPECT_EQ(server->error().code, ErrorCode::kPeerCertificateRequired);
  EXPECT_THAT(client.output, ::testing::Not(::testing::HasSubstr("\nping")));
}

}  // namespace
}  // namespace trellis::tls
