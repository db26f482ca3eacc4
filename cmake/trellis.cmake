# trellis_library(NAME <name> DEPS <targets...>)
#   One static library per folder under src/ (DESIGN.md §3). Sources are every *.cc in the
#   folder (recursively) except *_test.cc; the *_test.cc files form the library's unit-test
#   binary `<name>_test`, registered with ctest.
function(trellis_library)
  cmake_parse_arguments(ARG "" "NAME" "DEPS;TEST_DEPS" ${ARGN})
  file(GLOB_RECURSE all_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  set(sources "")
  set(tests "")
  foreach(f ${all_sources})
    # A subfolder with its own CMakeLists.txt is its own library (e.g. src/http/h1).
    file(RELATIVE_PATH rel ${CMAKE_CURRENT_SOURCE_DIR} ${f})
    get_filename_component(dir ${rel} DIRECTORY)
    set(owned_elsewhere FALSE)
    while(dir)
      if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/CMakeLists.txt)
        set(owned_elsewhere TRUE)
      endif()
      get_filename_component(dir ${dir} DIRECTORY)
    endwhile()
    if(owned_elsewhere)
      continue()
    endif()
    if(f MATCHES "_test\\.cc$")
      list(APPEND tests ${f})
    else()
      list(APPEND sources ${f})
    endif()
  endforeach()
  set(target trellis_${ARG_NAME})
  add_library(${target} STATIC ${sources})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${target} PUBLIC ${ARG_DEPS})
  add_library(trellis::${ARG_NAME} ALIAS ${target})
  if(tests)
    add_executable(${ARG_NAME}_test ${tests})
    set_target_properties(${ARG_NAME}_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    target_link_libraries(${ARG_NAME}_test PRIVATE ${target} ${ARG_TEST_DEPS} GTest::gmock GTest::gtest_main)
    target_compile_definitions(${ARG_NAME}_test PRIVATE
      TRELLIS_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
      TRELLIS_BINARY_DIR="${CMAKE_BINARY_DIR}")
    if(TRELLIS_SANITIZE)
      # Under the sanitizers each process start is expensive: run each binary once.
      add_test(NAME ${ARG_NAME}_test COMMAND ${ARG_NAME}_test WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
      set_tests_properties(${ARG_NAME}_test PROPERTIES LABELS unit)
    else()
      gtest_discover_tests(${ARG_NAME}_test
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
        PROPERTIES LABELS unit
        DISCOVERY_TIMEOUT 60)
    endif()
  endif()
endfunction()

# trellis_fuzz_target(NAME <name> SOURCE <file> DEPS <targets...>)
#   Always builds `<name>_replay`, which runs LLVMFuzzerTestOneInput over every file of
#   fuzz/<name>/corpus (registered with ctest, so the corpus is a regression suite under the
#   sanitizer build too). With TRELLIS_FUZZ=ON and clang, also builds the libFuzzer binary.
function(trellis_fuzz_target)
  cmake_parse_arguments(ARG "" "NAME;SOURCE" "DEPS" ${ARGN})
  add_executable(fuzz_${ARG_NAME}_replay ${ARG_SOURCE} ${PROJECT_SOURCE_DIR}/fuzz/replay_main.cc)
  target_link_libraries(fuzz_${ARG_NAME}_replay PRIVATE ${ARG_DEPS})
  set_target_properties(fuzz_${ARG_NAME}_replay PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  add_test(NAME fuzz.${ARG_NAME}.corpus
    COMMAND fuzz_${ARG_NAME}_replay ${PROJECT_SOURCE_DIR}/fuzz/${ARG_NAME}/corpus)
  set_tests_properties(fuzz.${ARG_NAME}.corpus PROPERTIES LABELS fuzz)
  if(TRELLIS_FUZZ)
    add_executable(fuzz_${ARG_NAME} ${ARG_SOURCE})
    target_compile_options(fuzz_${ARG_NAME} PRIVATE -fsanitize=fuzzer,address)
    target_link_options(fuzz_${ARG_NAME} PRIVATE -fsanitize=fuzzer,address)
    target_link_libraries(fuzz_${ARG_NAME} PRIVATE ${ARG_DEPS})
    set_target_properties(fuzz_${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endif()
endfunction()
