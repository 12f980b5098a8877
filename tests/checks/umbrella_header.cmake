# cmake -DSOURCE_DIR=... -P umbrella_header.cmake: fails, naming them, when
# public headers are missing from <zmqkit/zmqkit.hpp>.
file(READ ${SOURCE_DIR}/patterns/include/zmqkit/zmqkit.hpp umbrella)
file(GLOB headers RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/lib/include/zmqkit/*.hpp
     ${SOURCE_DIR}/patterns/include/zmqkit/*.hpp)
set(missing "")
foreach(path ${headers})
  get_filename_component(name ${path} NAME)
  if(NOT name STREQUAL "zmqkit.hpp")
    string(FIND "${umbrella}" "#include <zmqkit/${name}>" at)
    if(at EQUAL -1)
      list(APPEND missing ${name})
    endif()
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "zmqkit.hpp does not include: ${missing}")
endif()
message(STATUS "zmqkit.hpp includes every public header")
