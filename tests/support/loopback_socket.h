// Test support: plain sockets on 127.0.0.1 for the fixtures that play servers (UpstreamServer,
// ConnectProxy).
//
//   int port = 0;
//   int listen_fd = ListenOnLoopback(1024, &port);   // aborts the test process on failure
//   int fd = ConnectToLoopback(port);                 // -1 when refused
#pragma once

namespace modelrt::testing {

// A listening TCP socket on 127.0.0.1 and a port the kernel chose (SO_REUSEADDR set). A test
// that cannot listen on loopback cannot run: failure aborts.
int ListenOnLoopback(int backlog, int* port);

// A connected TCP socket to 127.0.0.1:`port`, or -1.
int ConnectToLoopback(int port);

}  // namespace modelrt::testing
