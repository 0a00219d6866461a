# Every third-party library comes from Debian's packages (tools/debian-packages.txt).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(CURL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Boost 1.81 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(CLI11 REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
# libcrypto's SHA-256 uses the CPU's SHA extensions: artifact hashing keeps up with the network.
find_package(OpenSSL REQUIRED COMPONENTS Crypto SSL)
