#include "updater/updater_main.hpp"

int main(int argc, char** argv) { return steward::updater::Main({argv, argv + argc}); }
