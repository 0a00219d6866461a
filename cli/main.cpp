#include "cli/cli_main.hpp"

int main(int argc, char** argv) { return steward::cli::Main({argv, argv + argc}); }
