// Placeholder until the test-model writer lands in this session.
#include <cstdio>
int main() { std::fprintf(stderr, "modelrt-testmodel: not built yet\n"); return 1; }
