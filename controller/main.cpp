#include "controller/controller_main.hpp"

int main(int argc, char** argv) { return steward::controller::Main({argv, argv + argc}); }
