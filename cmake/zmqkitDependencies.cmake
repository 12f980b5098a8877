# Every third-party lookup in one place. Used by the build and, installed next
# to zmqkitConfig.cmake, by consumers' find_package(zmqkit), so both resolve
# the same packages. All come from Debian: libzmq3-dev, cppzmq-dev,
# libmsgpack-cxx-dev, libxxhash-dev (the build also needs libcli11-dev,
# nlohmann-json3-dev, prometheus-cpp-dev and doctest-dev).
include(CMakeFindDependencyMacro)

find_dependency(Threads)   # the authenticator and the forwarder start threads
find_dependency(cppzmq)    # imports libzmq as well
find_dependency(msgpack)   # msgpack-cxx 4.x: target msgpackc-cxx
find_dependency(PkgConfig)
if(NOT TARGET PkgConfig::xxhash)
  pkg_check_modules(xxhash REQUIRED IMPORTED_TARGET libxxhash)  # journal checksums
endif()

if(NOT TARGET msgpackc-cxx)
  message(FATAL_ERROR "zmqkit: msgpack-cxx found but target msgpackc-cxx is missing")
endif()

# Build-only dependencies, looked up when zmqkit itself is being built (never
# by a consumer's find_package(zmqkit)).
if(ZMQKIT_BUILDING AND ZMQKIT_BUILD_TESTS)
  find_package(doctest REQUIRED)
  include(${doctest_DIR}/doctest.cmake)
endif()
if(ZMQKIT_BUILDING AND ZMQKIT_BUILD_TOOLS)
  find_package(CLI11 REQUIRED)           # libcli11-dev
  find_package(nlohmann_json 3 REQUIRED)  # nlohmann-json3-dev: JSON <-> msgpack
  # prometheus-cpp-dev: zmq-forwarder --metrics writes its text with
  # prometheus-cpp's core (the HTTP side is zmqkit's own, tools/common/http_server).
  find_package(prometheus-cpp REQUIRED COMPONENTS core)
endif()
