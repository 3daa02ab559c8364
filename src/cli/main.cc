// Placeholder until the CLI lands in this session.
#include <cstdio>
int main() { std::fprintf(stderr, "modelrt: CLI not built yet\n"); return 1; }
