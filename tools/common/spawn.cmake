# zmqkit_spawn: how zmqkit starts a child process (spawn.hpp), for
# zmq-rep --exec (exec.cpp, in zmqkit_tools_common) and for the tests' child
# processes (tests/support/process.cpp). A library of its own, so that the
# tests link it without the tools' code, and with or without the tools.
# tools/CMakeLists.txt, tests/CMakeLists.txt and the fuzz project
# (tests/fuzz/CMakeLists.txt) include this; the first makes the target.
if(NOT TARGET zmqkit_spawn)
  add_library(zmqkit_spawn STATIC ${CMAKE_CURRENT_LIST_DIR}/spawn.cpp)
  target_include_directories(zmqkit_spawn PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
  target_compile_features(zmqkit_spawn PUBLIC cxx_std_17)
  zmqkit_warnings(zmqkit_spawn)
endif()
