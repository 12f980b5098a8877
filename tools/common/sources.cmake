# The sources of the tools' common code (zmqkit_tools_common), shared by
# tools/CMakeLists.txt and the fuzz project (tests/fuzz/CMakeLists.txt),
# which builds them again with its instrumentation.
set(ZMQKIT_TOOLS_COMMON_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/cli.cpp
  ${CMAKE_CURRENT_LIST_DIR}/exec.cpp
  ${CMAKE_CURRENT_LIST_DIR}/input.cpp
  ${CMAKE_CURRENT_LIST_DIR}/json.cpp
  ${CMAKE_CURRENT_LIST_DIR}/loops.cpp
  ${CMAKE_CURRENT_LIST_DIR}/option_values.cpp
  ${CMAKE_CURRENT_LIST_DIR}/output.cpp
  ${CMAKE_CURRENT_LIST_DIR}/socket_reporter.cpp)
