# Proves that an outside project can use an installed zmqkit:
#   1. cmake --install the build tree into a scratch prefix;
#   2. take the library example and its CMakeLists.txt verbatim from README.md
#      (the blocks after the "consumer-test:" markers), so the README cannot
#      drift from what works;
#   3. configure it with find_package(zmqkit), build it, run it, check output.
# Run by CTest as: cmake -DSOURCE_DIR=… -DBINARY_DIR=… -DWORK_DIR=… -P this file

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(src ${WORK_DIR}/src)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

function(readme_block marker out_file)
  file(READ ${SOURCE_DIR}/README.md readme)
  string(FIND "${readme}" "<!-- consumer-test: ${marker} -->" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "README.md has no '<!-- consumer-test: ${marker} -->' marker")
  endif()
  string(SUBSTRING "${readme}" ${at} -1 rest)
  string(FIND "${rest}" "```" open)
  string(SUBSTRING "${rest}" ${open} -1 rest)
  string(FIND "${rest}" "\n" eol)  # skip the ```lang line
  math(EXPR body_start "${eol} + 1")
  string(SUBSTRING "${rest}" ${body_start} -1 rest)
  string(FIND "${rest}" "```" close)
  string(SUBSTRING "${rest}" 0 ${close} body)
  file(WRITE ${out_file} "${body}")
endfunction()

run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix})
readme_block(main.cpp ${src}/main.cpp)
readme_block(CMakeLists.txt ${src}/CMakeLists.txt)

run(${CMAKE_COMMAND} -S ${src} -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/hello_zmqkit)
if(NOT last_output MATCHES "user_registered seq=1 user=ada")
  message(FATAL_ERROR "unexpected output from the README example:\n${last_output}")
endif()
message(STATUS "README example built against ${prefix} and ran:\n${last_output}")
