#include "runtime/system.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/control_plane.h"

namespace trellis::runtime {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "trellis-runtime-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(WriteFileOwned, WritesContentModeAndOwner) {
  TempDir dir;
  const std::string path = dir.path() + "/token";
  const uid_t uid = ::geteuid() == 0 ? 2102 : ::geteuid();
  const gid_t gid = ::geteuid() == 0 ? 2102 : ::getegid();
  ASSERT_TRUE(write_file_owned(path, "v1.abc", 0400, uid, gid));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  EXPECT_EQ(st.st_uid, uid);
  EXPECT_EQ(st.st_gid, gid);
  EXPECT_EQ(read_file(path).value_or(""), "v1.abc");
  // Replacing it (a renewed token) works although the old file is read-only, and leaves no
  // temporary file behind.
  ASSERT_TRUE(write_file_owned(path, "v1.def", 0400, uid, gid));
  EXPECT_EQ(read_file(path).value_or(""), "v1.def");
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 1u);
}

TEST(WriteFileOwned, ReportsAMissingDirectory) {
  TempDir dir;
  auto r = write_file_owned(dir.path() + "/missing/token", "x", 0400, ::geteuid(), ::getegid());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("missing"), std::string::npos);
}

TEST(MeshExecutable, PrefersTheBinDirectory) {
  TempDir dir;
  const std::string exe = dir.path() + "/trellis-control";
  {
    std::ofstream f(exe);
    f << "#!/bin/sh\n";
  }
  ::chmod(exe.c_str(), 0755);
  EXPECT_EQ(mesh_executable("trellis-control", dir.path()), exe);
  EXPECT_EQ(mesh_executable("no-such-trellis-binary", dir.path()), "");
}

TEST(ControlPlaneAddress, IsTheHostLinkAddress) {
  EXPECT_EQ(control_grpc_address(), "198.18.255.254:8086");
  EXPECT_EQ(control_admin_address(), "198.18.255.254:9996");
}

}  // namespace
}  // namespace trellis::runtime
