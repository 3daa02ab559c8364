// The built binary's store verbs (`modelrt pull`, `modelrt store list|verify|rm`) against a local
// hub: what they print, plain progress lines when stderr is not a terminal, one-line errors and
// exit codes (0 ok, 1 failed, 2 bad usage).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/hub_server.h"
#include "support/run_command.h"

namespace modelrt::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class CliStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("modelrt-cli-store-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    hub_.AddRepo("acme/tiny", "c0ffee", {{"model.gguf", std::string(200'000, 'w')}, {"config.json", "{}"}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  CommandResult Modelrt(const std::string& args) {
    return RunCommand("env MODELRT_DATA_DIR=" + dir_.string() + " MODELRT_HF_ENDPOINT=" + hub_.url() +
                      " " + std::string(MODELRT_BIN_DIR) + "/modelrt " + args);
  }

  fs::path dir_;
  HubServer hub_;
};

TEST_F(CliStoreTest, PullListVerifyRemove) {
  CommandResult pull = Modelrt("pull hf://acme/tiny@main -f '*.gguf' -f '?missing.txt'");
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_THAT(pull.out, HasSubstr("pulled acme/tiny@main (c0ffee): 1 files"));
  EXPECT_THAT(pull.out, HasSubstr("store://acme/tiny@main/model.gguf"));
  EXPECT_THAT(pull.err, HasSubstr("1/1 files"));  // plain progress lines, no terminal codes
  EXPECT_EQ(pull.err.find('\r'), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "store" / "acme--tiny" / "main" / "files" / "model.gguf"));

  CommandResult list = Modelrt("store list");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("acme/tiny"));
  CommandResult verify = Modelrt("store verify acme/tiny@main");
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("1 files verified"));
  CommandResult rm = Modelrt("store rm acme/tiny");
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(Modelrt("store rm acme/tiny").exit_code, 1);
  EXPECT_FALSE(fs::exists(dir_ / "store" / "acme--tiny"));
}

TEST_F(CliStoreTest, ErrorsAreOneLineWithTheirExitCode) {
  CommandResult traversal = Modelrt("pull hf://acme/tiny@main -f ../../etc/passwd");
  EXPECT_EQ(traversal.exit_code, 2);
  EXPECT_THAT(traversal.err, HasSubstr("must not contain '.' or '..'"));
  EXPECT_EQ(std::count(traversal.err.begin(), traversal.err.end(), '\n'), 1) << traversal.err;
  CommandResult missing = Modelrt("pull hf://acme/tiny@main -f model.onnx");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("required file 'model.onnx' is not in acme/tiny@main"));
  CommandResult unknown = Modelrt("pull hf://acme/none");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("no repo or revision acme/none@main"));
  EXPECT_FALSE(fs::exists(dir_ / "store" / "acme--tiny"));
}

}  // namespace
}  // namespace modelrt::testing
