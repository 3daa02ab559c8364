// Log forging through the admin API (issue 16): a percent-decoded alias with %0A or %00 in
// /admin/models/{alias} must not start a line of its own in the log or write a NUL byte.
#include <gtest/gtest.h>

#include <string>

#include "admin_test_util.h"

namespace modelrt::testing {
namespace {

TEST(AdminLogSafetyTest, DecodedAliasCannotForgeALogLine) {
  AdminServer server;
  const std::string forged = "%0A1999-01-01T00:00:00.000%20info%20[http]%20FORGED%00tail";
  ::testing::internal::CaptureStderr();
  for (const char* method : {"GET", "DELETE"}) {
    HttpResult r = AdminCall(server.port(), method, "/admin/models/x" + forged);
    EXPECT_EQ(r.status, 404) << r.body;
  }
  HttpResult r = AdminCall(server.port(), "POST", "/admin/models/x" + forged + "/load");
  EXPECT_EQ(r.status, 404) << r.body;
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(log.find("\n1999-01-01T00:00:00.000 info [http] FORGED"), std::string::npos) << log;
  EXPECT_EQ(log.find('\0'), std::string::npos) << log;
  // The forged timestamp never starts a line; the escaped value is in the access log.
  for (size_t pos = 0; (pos = log.find('\n', pos)) != std::string::npos; ++pos) {
    EXPECT_NE(log.compare(pos + 1, 4, "1999"), 0) << log;
  }
  EXPECT_NE(log.find("model=x\\n1999-01-01T00:00:00.000 info [http] FORGED\\x00tail"),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace modelrt::testing
