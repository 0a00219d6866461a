# steward_options: the warning set, sanitizers and failpoint switch every target links.
# -Wnull-dereference is left out: GCC 12 reports false positives inside libstdc++ streams.
add_library(steward_options INTERFACE)
target_compile_options(steward_options INTERFACE
  -Wall -Wextra -Werror -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(steward_options INTERFACE
    -Wmisleading-indentation -Wduplicated-cond -Wlogical-op)
endif()
target_include_directories(steward_options INTERFACE ${PROJECT_SOURCE_DIR})

if(STEWARD_SANITIZE)
  # With sanitizers GCC 12 reports false -Wmaybe-uninitialized inside libstdc++ (<regex>).
  target_compile_options(steward_options INTERFACE
    -fsanitize=${STEWARD_SANITIZE} -fno-omit-frame-pointer
    $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  target_link_options(steward_options INTERFACE -fsanitize=${STEWARD_SANITIZE})
endif()
if(STEWARD_FAILPOINTS)
  target_compile_definitions(steward_options INTERFACE STEWARD_FAILPOINTS=1)
endif()
