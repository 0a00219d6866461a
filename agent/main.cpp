#include "agent/agent_main.hpp"

int main(int argc, char** argv) { return steward::agent::Main({argv, argv + argc}); }
